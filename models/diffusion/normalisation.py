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
    """Surface reflectance (unitless, 0 to 1) <-> model space (-1 to 1), linearly, per band.

    ``low`` maps to -1 and ``high`` to +1: one value for every band, or one per band (a tuple,
    bands on the channel axis, third from last). Reflectance outside ``[low, high]`` is clipped on
    the way in, model-space values outside ``[-1, 1]`` on the way out. Works on torch tensors and
    numpy arrays alike. A model records its scaling (:meth:`to_dict`) beside its weights.

    Per-band bounds matter for diffusion: land reflectance in the visible bands is mostly under
    0.3, so 0..1 would squeeze the images into a tenth of the model space, where the noise of
    every step drowns them (:meth:`fit` takes the bounds from the data).
    """

    low: float | tuple[float, ...] = 0.0
    high: float | tuple[float, ...] = 1.0

    def __post_init__(self):
        for name in ("low", "high"):
            value = getattr(self, name)
            object.__setattr__(self, name, tuple(map(float, value)) if np.ndim(value) else float(value))
        if np.ndim(self.low) and np.ndim(self.high) and len(self.low) != len(self.high):
            raise ConfigError(
                f"reflectance scaling needs as many low as high bounds, got {len(self.low)} and {len(self.high)}"
            )
        if not np.all(np.asarray(self.high) > np.asarray(self.low)):
            raise ConfigError(f"reflectance scaling needs low < high, got low={self.low}, high={self.high}")

    @classmethod
    def fit(cls, images: Array, quantiles: tuple[float, float] = (0.005, 0.995)) -> ReflectanceScaling:
        """Per-band bounds at ``quantiles`` of ``images`` (N, C, H, W) reflectance; NaN pixels are ignored."""
        values = np.moveaxis(np.asarray(images, dtype=np.float64), 1, 0).reshape(images.shape[1], -1)
        if np.isnan(values).all(axis=1).any():
            raise ConfigError(
                "cannot fit reflectance scaling: a band has no valid pixel; check the corpus' valid mask"
            )
        low, high = np.nanquantile(values, quantiles, axis=1)
        high = np.maximum(high, low + 1e-3)  # a constant band still maps onto a range
        return cls(tuple(low.round(5)), tuple(high.round(5)))

    def _bounds(self, like: Array) -> tuple:
        """``low`` and ``high`` broadcastable against ``like`` (bands on axis -3)."""
        if not np.ndim(self.low) and not np.ndim(self.high):
            return self.low, self.high
        low, high = (
            np.broadcast_to(np.asarray(b, dtype=np.float32), (like.shape[-3],)).copy()
            for b in (self.low, self.high)
        )
        low, high = low.reshape(-1, 1, 1), high.reshape(-1, 1, 1)
        if isinstance(like, torch.Tensor):
            return tuple(torch.as_tensor(b, dtype=like.dtype, device=like.device) for b in (low, high))
        return low.astype(like.dtype), high.astype(like.dtype)

    def to_model(self, reflectance: Array) -> Array:
        """Reflectance -> model space [-1, 1]."""
        low, high = self._bounds(reflectance)
        return ((reflectance - low) / (high - low)).clip(0, 1) * 2 - 1

    def to_reflectance(self, x: Array) -> Array:
        """Model space -> reflectance in [low, high]."""
        low, high = self._bounds(x)
        return (x.clip(-1, 1) + 1) / 2 * (high - low) + low

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, settings: dict) -> ReflectanceScaling:
        return cls(**settings)
