"""Per-date appearance: what makes two real acquisitions of an unchanged place differ.

GPCM carries unchanged areas over from the previous date exactly, noise and all, so a detector
trained on its pairs alone could learn "drawn texture = change", which no real pair teaches: real
dates differ everywhere in illumination and atmosphere (a gain and an offset per band), in sensor
noise, and in registration (a sub-pixel shift). :class:`DateAppearance` gives each later date of a
synthesized series its own draw of these, so that only semantic change stays the change
(:func:`vary_dates`, keyed by the series number).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import kornia
import torch

from terrasynth.core.errors import ConfigError
from terrasynth.core.seeds import key_seed


@dataclass(frozen=True)
class DateAppearance:
    """Random differences between the dates of a series, all in reflectance.

    Attributes:
        gain: standard deviation of the factor each band of a date is multiplied by (around 1).
        offset: standard deviation of the reflectance added to each band of a date.
        noise: standard deviation of the per-pixel sensor noise added to a date.
        shift: a date is translated by up to this many pixels in each direction (bilinear,
            edges repeated): misregistration.
    """

    gain: float = 0.05
    offset: float = 0.005
    noise: float = 0.004
    shift: float = 0.5

    def __post_init__(self):
        for name, value in asdict(self).items():
            if not value >= 0:
                raise ConfigError(f"date appearance {name} must be >= 0, got {value!r}")

    @classmethod
    def none(cls) -> DateAppearance:
        """No differences: unchanged areas carried over exactly."""
        return cls(0.0, 0.0, 0.0, 0.0)

    def __call__(self, image: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """``image`` (B, C, H, W) reflectance as seen on another date, one draw per image."""
        batch, bands = image.shape[:2]

        def normal(*shape: int) -> torch.Tensor:
            return torch.randn(shape, generator=generator).to(image.device, image.dtype)

        out = image * (1 + self.gain * normal(batch, bands, 1, 1)) + self.offset * normal(batch, bands, 1, 1)
        if self.shift:
            offsets = (torch.rand(batch, 2, generator=generator) * 2 - 1) * self.shift
            out = kornia.geometry.transform.translate(
                out, offsets.to(image.device, image.dtype), padding_mode="border", align_corners=False
            )
        return out + self.noise * normal(*image.shape)


def vary_dates(series: torch.Tensor, appearance: DateAppearance, seed: int, numbers: range) -> torch.Tensor:
    """``series`` (B, T, C, H, W) reflectance with every date after the first seen with its own
    ``appearance``, drawn from (seed, series number) for the series ``numbers`` (one per row)."""
    varied = series.clone()
    for row, n in enumerate(numbers):
        generator = torch.Generator().manual_seed(key_seed(seed, "appearance", n))
        varied[row, 1:] = appearance(series[row, 1:], generator)
    return varied
