"""Terrain: elevation and moisture, the large-scale fields that place everything else.

Both are fractal value noise of position (metres), dimensionless in [-1, 1]. Elevation sets lakes
(low), farmland (lowland), forest (slopes) and bare rock (high); moisture shifts the balance
between forest, grass and shrub. One unit of elevation stands for :data:`RELIEF` metres of height,
which sets the hill shading.
"""

from __future__ import annotations

import numpy as np

from terrasynth.ingest.synthetic.hashing import stream
from terrasynth.ingest.synthetic.lattice import node_gradient
from terrasynth.ingest.synthetic.noise import fbm_on_axes

ELEVATION_CELL = 7000.0  # metres: the largest hills and basins
MOISTURE_CELL = 5000.0
RELIEF = 500.0  # metres of height per unit of elevation
SUN = (0.45, -0.89)  # horizontal unit vector towards the sun (south-east; x east, y north)


def terrain_nodes(seed: int, x: np.ndarray, y: np.ndarray, spacing: float) -> dict[str, np.ndarray]:
    """Elevation, moisture and hill shading on the lattice nodes ``x`` (columns) by ``y`` (rows),
    metres, ``spacing`` apart."""
    elevation = fbm_on_axes(x, y, ELEVATION_CELL, 7, stream(seed, "elevation"), gain=0.5) * 1.6
    return {
        "elevation": elevation,
        "moisture": fbm_on_axes(x, y, MOISTURE_CELL, 4, stream(seed, "moisture"), gain=0.55) * 1.5,
        "relief": hill_shade(*node_gradient(elevation, spacing)),
    }


def hill_shade(elevation_dx: np.ndarray, elevation_dy: np.ndarray) -> np.ndarray:
    """Brightness factor of sunlit (> 1) and shaded (< 1) slopes, from elevation derivatives per metre."""
    rise_towards_sun = (elevation_dx * SUN[0] + elevation_dy * SUN[1]) * RELIEF
    return np.clip(1.0 - 1.5 * rise_towards_sun, 0.55, 1.45)  # slopes rising towards the sun face away
