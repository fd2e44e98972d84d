"""RS-DiT, the resolution-scalable diffusion transformer of Changen2 (Zheng et al., TPAMI 2024).

A DiT without absolute position embedding: position comes from the depthwise convolution in
each block's MLP, attention runs in 8 x 8 token windows with every 4th block global, and the
token grid is taken from each input, so a model trained at 256 x 256 runs at 1024 x 1024 or on
non-square inputs. The semantic mask is embedded densely by a convolution stack, resized to the
token grid and added to the timestep embedding, giving every token its own adaLN-Zero condition.

The released model embeds the mask at 1/8 of its size, which is the latent grid of a latent model
(8 x downsampled images). A pixel-space model has tokens of ``patch_size`` pixels, so there the
embedding stops at the token grid (``mask_stride``): at 1/8 every token of a 4-pixel patch would
see the mask of an 8-pixel cell, too coarse to outline a house.
"""

from __future__ import annotations

from typing import cast

import torch
import torch.nn.functional as F
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.models.embeddings import TimestepEmbedding, Timesteps
from einops import rearrange
from timm.layers import PatchEmbed
from torch import nn
from torch.utils.checkpoint import checkpoint

from terrasynth.core.errors import ConfigError
from terrasynth.models.changen2.rsdit_blocks import FinalLayer, RSDiTBlock, mask_embedder
from terrasynth.models.pretrained import LocalModelMixin

FREQUENCY_CHANNELS = 256
"""Width of the sinusoidal timestep encoding fed to the timestep MLP."""


PRESETS = {
    "S": {"depth": 12, "hidden_size": 384, "num_heads": 6},
    "B": {"depth": 12, "hidden_size": 768, "num_heads": 12},
    "L": {"depth": 24, "hidden_size": 1024, "num_heads": 16},
    "XL": {"depth": 28, "hidden_size": 1152, "num_heads": 16},
    # pixel space on a CPU: RGB in, noise out, 4 x 4 pixel tokens, one global block of four
    "tiny": {
        "depth": 4,
        "hidden_size": 64,
        "num_heads": 2,
        "patch_size": 4,
        "in_channels": 3,
        "learn_sigma": False,
    },
}
"""Sizes of the paper (patch 2: S, B, L, XL, about 35M/140M/476M/699M parameters with 4 input
channels and learned sigma) and a ``tiny`` one for tests and CPU demos."""


def rsdit_config(preset: str, **overrides) -> dict:
    """The :class:`RSDiT` arguments of a preset (``S``, ``B``, ``L``, ``XL``, ``tiny``), with some
    overridden."""
    if preset not in PRESETS:
        raise ConfigError(f"unknown RS-DiT size {preset!r}; choose one of {sorted(PRESETS)}")
    return {**PRESETS[preset], **overrides}


class RSDiT(LocalModelMixin, ConfigMixin):  # type: ignore[misc]  # diffusers types ConfigMixin.config_name None
    """The RS-DiT denoiser: ``model(x, t, mask)`` -> noise (and variance) prediction; saved by
    ``save_pretrained`` as ``config.json`` + safetensors.

    Args:
        in_channels: channels of the noisy input (image bands in pixel space, latent channels).
        mask_channels: channels of the condition mask (1 for a binary or class-code mask, or one
            per class for a one-hot mask).
        hidden_size: token width D.
        depth: number of transformer blocks.
        num_heads: attention heads.
        patch_size: input pixels per token side.
        mlp_ratio: MLP hidden width over D.
        window_size: attention window side in tokens.
        global_every: every this-many-th block attends globally (the 4th, 8th, ...).
        learn_sigma: predict the variance too (output channels = 2 x in_channels).
        mask_stride: the mask embedding's downsampling, 1, 2, 4 or 8 (the released model's: the
            latent grid of its images); the same weights serve every stride.
    """

    @register_to_config
    def __init__(
        self,
        in_channels: int = 4,
        mask_channels: int = 1,
        hidden_size: int = 1152,
        depth: int = 28,
        num_heads: int = 16,
        patch_size: int = 2,
        mlp_ratio: float = 4.0,
        window_size: int = 8,
        global_every: int = 4,
        learn_sigma: bool = True,
        mask_stride: int = 8,
    ):
        super().__init__()
        if mask_stride not in (1, 2, 4, 8):
            raise ConfigError(f"RS-DiT mask_stride must be 1, 2, 4 or 8, got {mask_stride}")
        if hidden_size % num_heads or hidden_size % 8:
            raise ConfigError(
                f"RS-DiT hidden_size {hidden_size} must be a multiple of num_heads ({num_heads}) and of 8"
            )
        dim = hidden_size
        self.gradient_checkpointing = False
        self.patch_embed = PatchEmbed(
            img_size=None,
            patch_size=patch_size,
            in_chans=in_channels,
            embed_dim=dim,
            output_fmt="NHWC",
        )
        self.time_proj = Timesteps(FREQUENCY_CHANNELS, flip_sin_to_cos=True, downscale_freq_shift=0)
        self.time_embed = TimestepEmbedding(FREQUENCY_CHANNELS, dim)
        self.mask_embed = mask_embedder(mask_channels, dim, mask_stride)
        self.blocks = nn.ModuleList(
            RSDiTBlock(
                dim,
                num_heads,
                mlp_ratio,
                window=0 if (index + 1) % global_every == 0 else window_size,
            )
            for index in range(depth)
        )
        self.final_layer = FinalLayer(dim, patch_size, self.out_channels)
        self.reset_parameters()

    @property
    def out_channels(self) -> int:
        return 2 * self.config["in_channels"] if self.config["learn_sigma"] else self.config["in_channels"]

    def reset_parameters(self) -> None:
        """DiT's initialisation: Xavier-uniform linear maps (and patch projection), N(0, 0.02) for
        the timestep MLP, and zeros for every adaLN modulation and the output layer (adaLN-Zero:
        each block starts as the identity)."""
        for module in self.modules():
            if isinstance(module, nn.Linear):
                nn.init.xavier_uniform_(module.weight)
                nn.init.zeros_(module.bias)
        projection = self.patch_embed.proj
        nn.init.xavier_uniform_(projection.weight.view(projection.out_channels, -1))
        assert projection.bias is not None  # PatchEmbed's projection has a bias
        nn.init.zeros_(projection.bias)
        nn.init.normal_(self.time_embed.linear_1.weight, std=0.02)
        nn.init.normal_(self.time_embed.linear_2.weight, std=0.02)
        zeroed = [cast(RSDiTBlock, block).modulation[-1] for block in self.blocks]
        zeroed += [self.final_layer.modulation[-1], self.final_layer.linear]
        for layer in zeroed:
            assert isinstance(layer, nn.Linear)
            nn.init.zeros_(layer.weight)
            nn.init.zeros_(layer.bias)

    def forward(
        self, x: torch.Tensor, t: torch.Tensor, mask: torch.Tensor, *, global_window: int | None = None
    ) -> torch.Tensor:
        """Predict the noise (and, with ``learn_sigma``, the variance interpolation) of ``x``.

        Args:
            x: (B, in_channels, H, W) noisy input; H and W multiples of ``patch_size``.
            t: (B,) diffusion timesteps (integers or floats).
            mask: (B, mask_channels, Hm, Wm) float condition mask at any size (typically the
                image's, so 8 x the latent size in a latent model); it is embedded at 1/8 of its
                size and resized (nearest) to the token grid.
            global_window: when set, the global blocks attend within windows of this many tokens a
                side on grids larger than that (typically the training grid), so that cost and
                memory grow linearly with the pixels; None attends over the whole grid.

        Returns:
            (B, out_channels, H, W): the first ``in_channels`` channels are the noise prediction.
        """
        patch = self.config["patch_size"]
        if x.ndim != 4 or x.shape[-2] % patch or x.shape[-1] % patch:
            raise ConfigError(
                f"RS-DiT input must be (B, C, H, W) with H, W multiples of {patch}; got {tuple(x.shape)}"
            )
        if mask.ndim != 4:
            raise ConfigError(f"RS-DiT mask must be (B, C, H, W); got {tuple(mask.shape)}")
        tokens = self.patch_embed(x)  # (B, h, w, D)
        grid = tokens.shape[1:3]
        time = self.time_embed(self.time_proj(t).to(tokens.dtype))  # (B, D)
        dense = F.interpolate(self.mask_embed(mask).float(), size=grid, mode="nearest").to(time.dtype)
        condition = rearrange(dense, "b d h w -> b h w d") + time[:, None, None, :]
        for block in self.blocks:
            if self.gradient_checkpointing and self.training:
                tokens = checkpoint(block, tokens, condition, global_window, use_reentrant=False)
            else:
                tokens = block(tokens, condition, global_window)
        out = self.final_layer(tokens, condition)  # (B, h, w, p * p * C)
        return rearrange(out, "b h w (p q c) -> b c (h p) (w q)", p=patch, q=patch)


def build_rsdit(preset: str, **overrides) -> RSDiT:
    """An RS-DiT of a preset size (``S``, ``B``, ``L``, ``XL``, ``tiny``), freshly initialised.

    Build on ``torch.device("meta")`` to count parameters without allocating them.
    """
    return RSDiT(**rsdit_config(preset, **overrides))
