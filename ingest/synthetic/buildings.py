"""Building footprints: rotated rectangles with a height, a roof and a lifetime.

Towns and farmsteads propose, for each point they are asked about, the few footprints that could
cover it or shade it (:class:`Footprints`, a handful of candidates per point); this module answers
whether a point lies inside a footprint, whether it lies in the footprint's shadow, and whether the
building stands at a given date. Rotations are kept as (cosine, sine) pairs built without trigonometric functions, so
everything is exact arithmetic.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from terrasynth.ingest.synthetic.terrain import SUN

SHADOW_CAP = 20.0  # metres: longest shadow drawn (towns look this far towards the sun for casters)
SHADOW_DIRECTION = (-SUN[0], -SUN[1])  # shadows fall away from the sun


@dataclass(frozen=True)
class Footprints:
    """Candidate rectangles, in the caller's frame: arrays of shape (candidates, points), or any
    shape that broadcasts against the points asked about.

    Attributes:
        present: whether there is a building at all.
        cx, cy: centre, metres.
        cos, sin: direction of the rectangle's first axis.
        half_length, half_width: half sizes along the first and second axis, metres.
        height: metres (sets the shadow's length).
        built, demolished: decimal years; the building stands in [built, demolished).
        roof: material code of the roof.
        tint: brightness variation of the roof, in [-1, 1].
    """

    present: np.ndarray
    cx: np.ndarray
    cy: np.ndarray
    cos: np.ndarray
    sin: np.ndarray
    half_length: np.ndarray
    half_width: np.ndarray
    height: np.ndarray
    built: np.ndarray
    demolished: np.ndarray
    roof: np.ndarray
    tint: np.ndarray

    @classmethod
    def stack(cls, parts: list[Footprints]) -> Footprints:
        """Candidates of several proposals, each with the points' shape, stacked along a new first
        axis (arrays that broadcast are broadcast first)."""
        fields = cls.__dataclass_fields__
        return cls(*(np.stack(np.broadcast_arrays(*(getattr(p, f) for p in parts))) for f in fields))

    @classmethod
    def concatenate(cls, parts: list[Footprints]) -> Footprints:
        """Candidates of several proposals of shape (candidates, points) joined along the first axis."""
        return cls(*(np.concatenate([getattr(p, f) for p in parts]) for f in cls.__dataclass_fields__))

    def standing(self, year: float) -> np.ndarray:
        """Whether the building stands at ``year``."""
        return self.present & (self.built <= year) & (year < self.demolished)

    def _local(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        dx, dy = x - self.cx, y - self.cy
        return dx * self.cos + dy * self.sin, dy * self.cos - dx * self.sin

    def covers(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Whether points (``x``, ``y``) lie inside the rectangles (presence and dates aside)."""
        a, b = self._local(x, y)
        return (np.abs(a) <= self.half_length) & (np.abs(b) <= self.half_width)

    def shades(
        self, x: np.ndarray, y: np.ndarray, shadow_x: np.ndarray | float, shadow_y: np.ndarray | float
    ) -> np.ndarray:
        """Whether points lie in the shadow swept by the rectangles along the shadow vector
        (``shadow_x``, ``shadow_y``, metres per metre of height, in the caller's frame)."""
        length = np.minimum(self.height, SHADOW_CAP / np.sqrt(shadow_x * shadow_x + shadow_y * shadow_y))
        sx, sy = shadow_x * length, shadow_y * length
        a, b = self._local(x, y)
        ea = sx * self.cos + sy * self.sin
        eb = sy * self.cos - sx * self.sin
        low, high = np.zeros_like(a), np.ones_like(a)
        for q, e, half in ((a, ea, self.half_length), (b, eb, self.half_width)):
            # The point minus t * shadow lies within the slab |coordinate| <= half for t in [t0, t1].
            safe = np.where(np.abs(e) < 1e-9, 1e-9, e)
            t0, t1 = (q - half) / safe, (q + half) / safe
            low = np.maximum(low, np.minimum(t0, t1))
            high = np.minimum(high, np.maximum(t0, t1))
        return low <= high


def shadow_vector(winter: float) -> tuple[float, float]:
    """Metres of shadow per metre of height, as (x, y), for the sun at about 10:30 at mid-latitudes:
    short in summer (``winter`` = 0), long in winter (``winter`` = 1)."""
    length = 0.45 + 1.55 * winter
    return SHADOW_DIRECTION[0] * length, SHADOW_DIRECTION[1] * length


def rotation(tangent: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(cos, sin) of the angle 2 * atan(tangent): tangent in [-1, 1] covers -90 to 90 degrees."""
    t2 = tangent * tangent
    return (1.0 - t2) / (1.0 + t2), 2.0 * tangent / (1.0 + t2)
