"""The building blocks of RS-DiT: tokens are kept as a (B, h, w, D) grid throughout, so the
convolutional MLP and window attention see their neighbours, and any grid size works."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from einops import rearrange
from timm.layers import Attention, LayerNorm2d
from torch import nn


def modulate(x: torch.Tensor, shift: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """adaLN: ``x * (1 + scale) + shift``, per token."""
    return x * (1 + scale) + shift


def _norm(dim: int) -> nn.LayerNorm:
    return nn.LayerNorm(dim, elementwise_affine=False, eps=1e-6)


class ConvMlp(nn.Module):
    """fc1 -> depthwise 3 x 3 convolution on the token grid -> GELU (tanh) -> fc2.

    The convolution is RS-DiT's only source of position. Written by hand because timm's MLPs have
    no spatial convolution between the first projection and the activation.
    """

    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.dwconv = nn.Conv2d(hidden, hidden, 3, padding=1, groups=hidden, bias=False)
        self.act = nn.GELU(approximate="tanh")
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.dwconv(rearrange(self.fc1(x), "b h w c -> b c h w"))
        return self.fc2(self.act(rearrange(x, "b c h w -> b h w c")))


class RSDiTBlock(nn.Module):
    """A transformer block with per-token adaLN-Zero: attention (in ``window`` x ``window`` token
    windows, or global when ``window`` is 0) and the convolutional MLP, each modulated and gated
    by the per-token condition."""

    def __init__(self, dim: int, num_heads: int, mlp_ratio: float = 4.0, window: int = 8):
        super().__init__()
        self.window = window
        self.norm1 = _norm(dim)
        self.attn = Attention(dim, num_heads=num_heads, qkv_bias=True)
        self.norm2 = _norm(dim)
        self.mlp = ConvMlp(dim, int(dim * mlp_ratio))
        self.modulation = nn.Sequential(nn.SiLU(), nn.Linear(dim, 6 * dim))

    def forward(self, x: torch.Tensor, c: torch.Tensor, global_window: int | None = None) -> torch.Tensor:
        """x, c: (B, h, w, D) tokens and their conditions.

        ``global_window``: a global block attends within windows of this many tokens a side when the
        grid is larger (None: over the whole grid, whose cost grows with the square of the tokens).
        """
        shift1, scale1, gate1, shift2, scale2, gate2 = self.modulation(c).chunk(6, dim=-1)
        x = x + gate1 * self._attend(modulate(self.norm1(x), shift1, scale1), global_window)
        return x + gate2 * self.mlp(modulate(self.norm2(x), shift2, scale2))

    def _attend(self, x: torch.Tensor, global_window: int | None) -> torch.Tensor:
        height, width = x.shape[1:3]
        size = self.window or global_window
        if not size or (not self.window and max(height, width) <= size):
            out = self.attn(rearrange(x, "b h w d -> b (h w) d"))
            return rearrange(out, "b (h w) d -> b h w d", h=height)
        # Pad the grid to whole windows with zero tokens, which take part in the attention (as in
        # the released model), then cut the padding off again.
        x = F.pad(x, (0, 0, 0, -width % size, 0, -height % size))
        rows, cols = x.shape[1] // size, x.shape[2] // size
        windows = rearrange(x, "b (r s) (c t) d -> (b r c) (s t) d", s=size, t=size)
        out = rearrange(self.attn(windows), "(b r c) (s t) d -> b (r s) (c t) d", r=rows, c=cols, s=size)
        return out[:, :height, :width]


class FinalLayer(nn.Module):
    """Modulated layer norm and a linear map from each token to its patch of output channels."""

    def __init__(self, dim: int, patch_size: int, out_channels: int):
        super().__init__()
        self.norm = _norm(dim)
        self.modulation = nn.Sequential(nn.SiLU(), nn.Linear(dim, 2 * dim))
        self.linear = nn.Linear(dim, patch_size * patch_size * out_channels)

    def forward(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        shift, scale = self.modulation(c).chunk(2, dim=-1)
        return self.linear(modulate(self.norm(x), shift, scale))


def mask_embedder(mask_channels: int, dim: int, stride: int = 8) -> nn.Sequential:
    """The dense mask embedding: eight 3 x 3 convolutions, each followed by a channel LayerNorm and
    (all but the last) SiLU; widths D/8, D/8, D/4, D/4, D/2, D/2, D, D, with stride 2 at the third,
    fifth and seventh (the first log2(``stride``) of them), so the output is (B, D, H/s, W/s) for a
    (B, C, H, W) mask; the weights are the same for every stride."""
    widths = (dim // 8, dim // 8, dim // 4, dim // 4, dim // 2, dim // 2, dim, dim)
    halvings = {1: 0, 2: 1, 4: 2, 8: 3}[stride]
    strides = [1] * 8
    for index in (2, 4, 6)[:halvings]:
        strides[index] = 2
    layers, previous = [], mask_channels
    for index, (width, stride) in enumerate(zip(widths, strides, strict=True)):
        layers += [nn.Conv2d(previous, width, 3, stride, 1), LayerNorm2d(width, eps=1e-6)]
        if index < len(widths) - 1:
            layers.append(nn.SiLU())
        previous = width
    return nn.Sequential(*layers)
