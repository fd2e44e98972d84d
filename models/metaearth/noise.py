"""Noise for unbounded generation, reproducible per (seed, location) in any process or machine.

Every draw comes from a generator seeded by a hash of a key (the seed plus what the noise is
for), never from a running random state, so any window of a canvas can be generated alone.

Initial-noise modes (and the noise of stochastic steps when eta > 0):

- ``shared``: every window starts from the same noise (MetaEarth's scheme).
- ``independent``: each window its own noise, keyed by its position.
- ``field``: one noise image over the whole ground grid, keyed by pixel coordinates: windows
  that overlap see the same noise where they overlap.
- ``average``: the ``field`` noise, with the overlapping windows averaged at every step.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import get_args

import torch

from terrasynth.core.choices import NoiseMode
from terrasynth.core.errors import ConfigError
from terrasynth.core.seeds import key_seed

NOISE_MODES = get_args(NoiseMode)
INITIAL = -1
"""The step index of the initial noise; stochastic steps use 0, 1, ..."""


def keyed_normal(shape: Sequence[int], *key: Hashable) -> torch.Tensor:
    """Standard normal float32 noise (CPU) that depends only on ``shape`` and ``key``."""
    return torch.randn(tuple(shape), generator=torch.Generator().manual_seed(key_seed(*key)))


class NoiseField:
    """Gaussian noise over an unbounded grid of pixels, in blocks keyed by their position.

    Args:
        seed: any int or tuple of ints.
        channels: bands of the noise.
        block: side in pixels of the keyed blocks (a speed trade-off, it changes the noise).
    """

    def __init__(self, seed: Hashable, channels: int, block: int = 64):
        self.seed, self.channels, self.block = seed, channels, block

    def region(self, top: int, left: int, height: int, width: int, step: int = INITIAL) -> torch.Tensor:
        """The (C, height, width) noise whose top-left pixel is at global pixel (top, left)."""
        b = self.block
        rows = range(top // b, (top + height - 1) // b + 1)
        cols = range(left // b, (left + width - 1) // b + 1)
        mosaic = torch.cat(
            [
                torch.cat([keyed_normal((self.channels, b, b), self.seed, step, r, c) for c in cols], dim=2)
                for r in rows
            ],
            dim=1,
        )
        y, x = top - rows[0] * b, left - cols[0] * b
        return mosaic[:, y : y + height, x : x + width]


class WindowNoise:
    """The noise of a batch of windows under one of the modes ``shared``, ``independent``, ``field``.

    Args:
        mode: see the module docstring.
        seed: any int or tuple of ints.
        channels: bands.
        window: window side in pixels.
    """

    def __init__(self, mode: str, seed: Hashable, channels: int, window: int):
        if mode not in NOISE_MODES[:3]:
            raise ConfigError(f"window noise {mode!r} is unknown: use one of {', '.join(NOISE_MODES[:3])}")
        self.mode, self.seed, self.channels, self.window = mode, seed, channels, window
        self.field = NoiseField(seed, channels)

    def __call__(self, positions: Sequence[tuple[int, int]], step: int = INITIAL) -> torch.Tensor:
        """(B, C, window, window) noise for windows whose top-left pixels are ``positions`` (global)."""
        shape = (self.channels, self.window, self.window)
        if self.mode == "shared":
            return keyed_normal(shape, self.seed, step).expand(len(positions), *shape)
        if self.mode == "independent":
            return torch.stack([keyed_normal(shape, self.seed, step, top, left) for top, left in positions])
        return torch.stack(
            [self.field.region(top, left, self.window, self.window, step) for top, left in positions]
        )
