"""Plan a corpus without fetching anything: regions, grids, tiles, requests, bytes and time.

Every figure is computed from the grids' shapes, never by listing tiles, so planning a continent
takes as long as planning a city.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rasterio.windows import Window

from terrasynth.core.aoi import AreaOfInterest
from terrasynth.core.errors import ConfigError
from terrasynth.core.levels import Level, parse_levels
from terrasynth.ingest.source import Source
from terrasynth.ingest.tiles import LevelTiles, level_grids

MIN_TILE_SIZE = 16


@dataclass(frozen=True)
class LevelPlan:
    """One level of one region.

    Attributes:
        region, crs, level: the group and its UTM CRS.
        shape: (rows, columns) in pixels.
        bounds: (left, bottom, right, top) in metres of ``crs``.
        tiles: tiles of ``tile_size`` pixels covering it.
        requests: service requests those tiles cost (0 for local data).
        bytes: uncompressed bytes the level stores (image, land cover and mask).
    """

    region: str
    crs: str
    level: str
    shape: tuple[int, int]
    bounds: tuple[float, float, float, float]
    tiles: int
    requests: int
    bytes: int


def plan_corpus(
    aoi: str | AreaOfInterest,
    levels: str | Sequence[Level] = "60,16,4",
    tile_size: int = 256,
    source: Source | None = None,
) -> list[LevelPlan]:
    """The grids, tiles, requests and bytes a corpus over ``aoi`` would have (nothing is fetched).

    Args:
        aoi: an area, or a ``west,south,east,north`` bbox in degrees, GeoJSON or WKT text, or a file.
        levels: resolutions in metres, e.g. ``"60,16,4"``.
        tile_size: tile edge in pixels.
        source: the source to count requests and bands for (default: 4 bands, no requests).
    """
    check_tile_size(tile_size)
    area = aoi if isinstance(aoi, AreaOfInterest) else AreaOfInterest.parse(aoi)
    ladder = parse_levels(levels)
    if source is not None:
        source.check_area(area)
    plans = []
    for (region, name), grid in level_grids(area.regions(), ladder).items():
        level = Level.parse(name)
        tiles = LevelTiles(region, name, grid, tile_size)
        requests = 0
        if source is not None:  # a read's requests depend on the tile's shape only
            for (height, width), count in tiles.shapes().items():
                requests += count * source.requests(grid.subgrid(Window(0, 0, width, height)), level)
        bands = len(source.bands(level)) if source is not None else 4
        pixel_bytes = 2 * bands + 2  # uint16 bands, uint8 land cover, bool mask
        plans.append(
            LevelPlan(
                region,
                grid.crs,
                name,
                grid.shape,
                grid.bounds,
                len(tiles),
                requests,
                grid.height * grid.width * pixel_bytes,
            )
        )
    return plans


def estimate_seconds(plans: Sequence[LevelPlan], source: Source | None) -> float | None:
    """Seconds the requests take at the source's sustained request rate; ``None`` for local sources."""
    rate = source.request_rate() if source else None
    if not rate:
        return None
    return sum(plan.requests for plan in plans) / rate


def check_tile_size(tile_size: int) -> None:
    if tile_size < MIN_TILE_SIZE:
        raise ConfigError(f"--tile-size {tile_size} is too small: use at least {MIN_TILE_SIZE} pixels")
