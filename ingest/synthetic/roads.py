"""The road network outside towns: main roads and narrow country lanes.

Each road family runs along the zero line of its own smooth noise field (lightly warped, so roads
curve gently): such lines never end, cross each other, and form a connected mesh like a rural road
network. A point is on a road when its distance to the line, estimated as ``|field| / |gradient|``,
is below half the road's width.
"""

from __future__ import annotations

import numpy as np

from terrasynth.ingest.synthetic.hashing import stream
from terrasynth.ingest.synthetic.lattice import distance_to_zero_line
from terrasynth.ingest.synthetic.noise import fbm, fbm_on_axes

MAIN_ROAD_CELL = 5000.0  # metres: spacing of main roads
LANE_CELL = 1800.0  # metres: spacing of lanes
MAIN_ROAD_HALF = 5.5  # metres
LANE_HALF = 3.0  # metres
LANE_CEILING = 0.5  # no lanes above this elevation


def road_nodes(seed: int, x: np.ndarray, y: np.ndarray, spacing: float) -> dict[str, np.ndarray]:
    """Signed distances (metres) to the roads' centre lines on the lattice nodes ``x`` by ``y``."""
    px, py = x[None, :], y[:, None]
    wx = fbm_on_axes(x, y, 1500.0, 2, stream(seed, "road-warp-x")) * 80.0
    wy = fbm_on_axes(x, y, 1500.0, 2, stream(seed, "road-warp-y")) * 80.0
    main_road = fbm(px + wx, py + wy, MAIN_ROAD_CELL, 2, stream(seed, "main-roads"), gain=0.35)
    lane = fbm(px + wy, py - wx, LANE_CELL, 2, stream(seed, "lanes"), gain=0.3)
    return {
        "main_road": distance_to_zero_line(main_road, spacing),
        "lane": distance_to_zero_line(lane, spacing),
    }


def roads_at(fields: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Boolean masks of main roads and lanes from the interpolated distance fields."""
    return (
        np.abs(fields["main_road"]) < MAIN_ROAD_HALF,
        (np.abs(fields["lane"]) < LANE_HALF) & (fields["elevation"] < LANE_CEILING),
    )
