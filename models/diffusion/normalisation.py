"""The model space of diffusion: surface reflectance mapped linearly onto [-1, 1]."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TypeVar

import numpy as np
import torch

from terrasynth.core.errors import ConfigError

Array = TypeVar("Array", torch.Tensor, np.ndarray)


@dataclass(frozen=True)
class ReflectanceScaling:
    """Surface reflectance (unitless, 0 to 1) <-> model space (-1 to 1), linearly.

    ``low`` maps to -1 and ``high`` to +1; reflectance outside ``[low, high]`` is clipped on the way
    in, and model-space values outside ``[-1, 1]`` are clipped on the way out. Works on torch
    tensors and numpy arrays alike. A model records its scaling (:meth:`to_dict`) beside its weights.
    """

    low: float = 0.0
    high: float = 1.0

    def __post_init__(self):
        if not self.high > self.low:
            raise ConfigError(f"reflectance scaling needs low < high, got low={self.low}, high={self.high}")

    def to_model(self, reflectance: Array) -> Array:
        """Reflectance -> model space [-1, 1]."""
        return ((reflectance - self.low) / (self.high - self.low)).clip(0, 1) * 2 - 1

    def to_reflectance(self, x: Array) -> Array:
        """Model space -> reflectance in [low, high]."""
        return (x.clip(-1, 1) + 1) / 2 * (self.high - self.low) + self.low

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, settings: dict) -> ReflectanceScaling:
        return cls(**settings)
