"""Areas of interest in the synthetic world: squares on the growing edges of its towns, where
buildings stand and new ones appear (change data), as GeoJSON for ``terrasynth ingest``."""

from __future__ import annotations

import json

from pyproj import Transformer

from terrasynth.core.aoi import utm_zone
from terrasynth.core.grid import GridSpec
from terrasynth.ingest.synthetic.towns import town_centres
from terrasynth.ingest.synthetic.world import SyntheticWorld

EDGE = 0.8
"""Where a square is centred: this many radii east of its town's centre, on the town's edge."""
BUILT = 0.05
"""A square counts when buildings cover at least this share of it (some towns lie under lakes)."""


def town_edges(
    seed: int,
    centre: tuple[float, float],
    *,
    count: int = 1,
    side: float = 640.0,
    search: float = 20_000.0,
    date: str = "2021-06-01",
) -> str:
    """A GeoJSON MultiPolygon of ``count`` squares of ``side`` metres, one on the edge of each of the
    ``count`` largest towns of world ``seed`` within ``search`` metres of ``centre`` (longitude,
    latitude in degrees) whose square is built up (:data:`BUILT`, at ``date``), in the UTM zone of
    ``centre`` (the world's metres).

    Raises ValueError when fewer such towns than ``count`` are found.
    """
    lon, lat = centre
    zone, north = utm_zone(lon, lat)
    crs = f"EPSG:{32600 + zone if north else 32700 + zone}"
    to_utm = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    to_lonlat = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    x, y = to_utm.transform(lon, lat)
    world, squares = SyntheticWorld(seed), []
    for tx, ty, radius in sorted(
        town_centres(seed, (x - search, y - search, x + search, y + search)), key=lambda t: -t[2]
    ):
        left, bottom = tx + EDGE * radius - side / 2, ty - side / 2
        grid = GridSpec.from_bounds((left, bottom, left + side, bottom + side), crs, max(side / 64, 4.0))
        if world.render(grid, date, image=False).buildings.mean() < BUILT:
            continue
        corners = [(left, bottom), (left + side, bottom), (left + side, bottom + side), (left, bottom + side)]
        ring = [list(to_lonlat.transform(cx, cy)) for cx, cy in [*corners, corners[0]]]
        squares.append([ring])
        if len(squares) == count:
            break
    if len(squares) < count:
        raise ValueError(
            f"world {seed} has {len(squares)} built-up town edges within {search:g} m of {centre}, not {count}"
        )
    return json.dumps({"type": "MultiPolygon", "coordinates": squares})
