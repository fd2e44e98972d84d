"""The RRDBNet encoder of the low-resolution condition (ESRGAN's residual-in-residual dense blocks).

Written here because no maintained library ships it: BasicSR does not import with current
torchvision, and timm and diffusers have no dense residual blocks.
"""

from __future__ import annotations

import torch
from torch import nn

_RESIDUAL_SCALE = 0.2  # ESRGAN scales every residual branch by 0.2 for stable training


class ResidualDenseBlock(nn.Module):
    """Five 3x3 convolutions, each fed with the block input and every earlier output."""

    def __init__(self, features: int, growth: int):
        super().__init__()
        self.convs = nn.ModuleList(
            nn.Conv2d(features + i * growth, growth if i < 4 else features, 3, padding=1) for i in range(5)
        )
        self.act = nn.LeakyReLU(0.2, inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outputs = [x]
        for conv in self.convs[:-1]:
            outputs.append(self.act(conv(torch.cat(outputs, dim=1))))
        return x + _RESIDUAL_SCALE * self.convs[-1](torch.cat(outputs, dim=1))


class RRDB(nn.Module):
    """Three residual dense blocks inside one more residual connection."""

    def __init__(self, features: int, growth: int):
        super().__init__()
        self.blocks = nn.Sequential(*(ResidualDenseBlock(features, growth) for _ in range(3)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + _RESIDUAL_SCALE * self.blocks(x)


class RRDBEncoder(nn.Module):
    """Encodes an image into ``features`` channels at its own resolution (no upsampling).

    Args:
        in_channels: bands of the image.
        features: output channels.
        blocks: number of RRDBs (ESRGAN uses 23).
        growth: channels added by each convolution inside a dense block.
    """

    def __init__(self, in_channels: int, features: int = 64, blocks: int = 8, growth: int = 32):
        super().__init__()
        self.conv_in = nn.Conv2d(in_channels, features, 3, padding=1)
        self.body = nn.Sequential(*(RRDB(features, growth) for _ in range(blocks)))
        self.conv_body = nn.Conv2d(features, features, 3, padding=1)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        x = self.conv_in(image)
        return x + self.conv_body(self.body(x))
