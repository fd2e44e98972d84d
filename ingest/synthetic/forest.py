"""Forest: woodland on moist ground and slopes, managed in stands that are felled and grow back.

Woodland covers the places where a forest score (noise, moisture and height) is high. It is divided
into stands (cells of a warped :data:`STAND` lattice). A stand may be clear-cut in an event year:
it is bare soil for a while, then grass, then shrub, and finally forest again.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from terrasynth.ingest.synthetic.hashing import draws, hash_ints, stream
from terrasynth.ingest.synthetic.materials import Material
from terrasynth.ingest.synthetic.noise import fbm_on_axes
from terrasynth.ingest.synthetic.timeline import Moment, event_year

STAND = 240.0  # metres: size of a forest stand
CLEARING_CHANCE = 0.2  # of stands clear-cut once
REGROWTH = ((1.5, Material.SOIL), (4.0, Material.GRASS), (9.0, Material.SHRUB))  # years after felling


@dataclass(frozen=True)
class Stands:
    """Woodland at some points (1-D arrays): its material now and a per-stand tint in [-1, 1]."""

    material: np.ndarray
    tint: np.ndarray


def forest_nodes(seed: int, x: np.ndarray, y: np.ndarray, spacing: float) -> dict[str, np.ndarray]:
    """The forest score's noise and the stand lattice's warp (metres), on the grid of ``x`` by ``y``."""
    return {
        "woods": fbm_on_axes(x, y, 2500.0, 5, stream(seed, "woods"), gain=0.55),
        "stand_dx": fbm_on_axes(x, y, 300.0, 2, stream(seed, "stand-x")) * 90.0,
        "stand_dy": fbm_on_axes(x, y, 300.0, 2, stream(seed, "stand-y")) * 90.0,
    }


def forest_score(fields: dict[str, np.ndarray]) -> np.ndarray:
    """Where woodland grows: positive above about 0 (dimensionless)."""
    elevation = fields["elevation"]
    return fields["woods"] + 0.35 * fields["moisture"] + 0.8 * np.clip(elevation - 0.1, 0.0, 0.5) - 0.12


def stands_at(
    seed: int, x: np.ndarray, y: np.ndarray, warp_x: np.ndarray, warp_y: np.ndarray, moment: Moment
) -> Stands:
    """Woodland at points (``x``, ``y``, metres) with the stand warp interpolated there."""
    stand = hash_ints(stream(seed, "stands"), np.floor((x + warp_x) / STAND), np.floor((y + warp_y) / STAND))
    chance, when, tint = draws(stand, 3)
    felled = event_year(chance, when, CLEARING_CHANCE)
    age = moment.year - felled
    material = np.full(x.shape, Material.TREE, np.uint8)
    for years, stage in reversed(REGROWTH):
        material = np.where((age >= 0) & (age < years), stage, material)
    return Stands(material.astype(np.uint8), tint * 2.0 - 1.0)
