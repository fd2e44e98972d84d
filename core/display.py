"""Reflectance as 8-bit display colours: the one mapping behind every picture terrasynth writes or reads.

The change sets (LEVIR-CD / SECOND PNGs) made from the synthetic world, the pairs Changen2
synthesizes, and the images the generative metrics compare all go through it, so a detector
trained on one meets the same colours in the others.

Reflectance is brightened (``BRIGHTNESS``: reflectance 1/3 shows as white) and gamma encoded
with exponent 1/1.6. The power is taken with square roots only (x**0.625 = sqrt(x) * x**(1/8)),
which IEEE arithmetic rounds exactly, so the pictures are bit-identical on every machine.
"""

from __future__ import annotations

import numpy as np

BRIGHTNESS = 3.0
"""Display value = (reflectance x BRIGHTNESS) ** (1 / 1.6), clipped to [0, 1]."""


def to_display(reflectance: np.ndarray) -> np.ndarray:
    """Surface reflectance (any shape, float) as uint8 display values of the same shape."""
    linear = np.clip(np.asarray(reflectance, dtype=np.float64) * BRIGHTNESS, 0.0, 1.0)
    encoded = np.sqrt(linear) * np.sqrt(np.sqrt(np.sqrt(linear)))
    return (encoded * 255.0 + 0.5).astype(np.uint8)


def from_display(values: np.ndarray) -> np.ndarray:
    """uint8 display values as float32 reflectance: the inverse of :func:`to_display` (up to its
    rounding; white reads as 1/BRIGHTNESS)."""
    encoded = np.asarray(values, dtype=np.float64) / 255.0
    return (encoded**1.6 / BRIGHTNESS).astype(np.float32)
