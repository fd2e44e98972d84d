"""Water: lakes in the basins of the terrain, their shore wetlands, and meandering rivers.

Lakes fill the terrain below a water level that rises in spring, falls in late summer and varies
from year to year, so shorelines move between dates. Rivers follow the zero line of a warped noise
field (which meanders and branches like a drainage network) in the lowlands, widening downhill;
their width also swells with the seasons.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from terrasynth.ingest.synthetic.hashing import stream
from terrasynth.ingest.synthetic.lattice import distance_to_zero_line
from terrasynth.ingest.synthetic.noise import fbm, fbm_on_axes
from terrasynth.ingest.synthetic.timeline import Moment, yearly_anomaly

LAKE_LEVEL = -0.6  # elevation of the mean lake surface
SEASONAL_SWING = 0.008  # elevation units between spring high water and late-summer low water
YEARLY_SWING = 0.012  # elevation units of wet and dry years
WETLAND_BAND = 0.03  # elevation units above the water line that are marsh where moist
RIVER_CELL = 6000.0  # metres: spacing of the river network
RIVER_LOWLAND = 0.2  # rivers run below this elevation
RIVER_HALF_WIDTH = 22.0  # metres, reached far downhill


@dataclass(frozen=True)
class Water:
    """Where water is at one moment, on a sample grid.

    Attributes:
        lake, river, wetland: boolean masks.
        depth: elevation units below the water line (> 0 in lakes), for the colour of shallows.
    """

    lake: np.ndarray
    river: np.ndarray
    wetland: np.ndarray
    depth: np.ndarray


def water_nodes(seed: int, x: np.ndarray, y: np.ndarray, spacing: float) -> dict[str, np.ndarray]:
    """Signed distance (metres) to the rivers' centre lines on the lattice nodes ``x`` by ``y``."""
    px, py = x[None, :], y[:, None]
    warp = 260.0
    wx = fbm_on_axes(x, y, 1100.0, 3, stream(seed, "river-warp-x")) * warp
    wy = fbm_on_axes(x, y, 1100.0, 3, stream(seed, "river-warp-y")) * warp
    river = fbm(px + wx, py + wy, RIVER_CELL, 2, stream(seed, "river"), gain=0.4)
    return {"river": distance_to_zero_line(river, spacing)}


def water_level(seed: int, moment: Moment) -> float:
    """The lake surface (elevation units) at ``moment``: high in spring, low in late summer."""
    seasonal = moment.cycle([(0.05, 0.2), (0.3, 1.0), (0.7, -1.0)])
    return (
        LAKE_LEVEL
        + SEASONAL_SWING * seasonal
        + YEARLY_SWING * yearly_anomaly(stream(seed, "wet-years"), moment)
    )


def water_at(seed: int, fields: dict[str, np.ndarray], moment: Moment) -> Water:
    """Lakes, wetlands and rivers at ``moment`` from the interpolated terrain and water fields."""
    elevation = fields["elevation"]
    depth = water_level(seed, moment) - elevation
    lake = depth > 0.0
    wetland = ~lake & (depth > -WETLAND_BAND) & (fields["moisture"] > 0.05)
    distance = np.abs(fields["river"])  # metres to the river's centre line
    downhill = np.clip((RIVER_LOWLAND - elevation) / 0.45, 0.0, 1.0)
    swell = 1.0 + 0.12 * moment.cycle([(0.05, 0.0), (0.3, 1.0), (0.7, -1.0)])
    river = distance < RIVER_HALF_WIDTH * downhill * swell
    return Water(lake, river & ~lake, wetland & ~river, depth)
