"""The tiles of a corpus: every (region, level, window) the writer fills, one Zarr chunk each."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rasterio.windows import Window

from terrasynth.core.aoi import Region
from terrasynth.core.grid import GridSpec
from terrasynth.core.levels import Level


@dataclass(frozen=True)
class Tile:
    """One tile: a chunk-aligned pixel window of one level of one region.

    Attributes:
        region: the region's group name, e.g. ``"r00_utm32n"``.
        level: the level's group name, e.g. ``"16m"``.
        row, col: the tile's index in the level's tile grid (window offset // tile size).
        window: the pixels it covers on the level's grid (clipped at the right and bottom edges).
    """

    region: str
    level: str
    row: int
    col: int
    window: Window

    @property
    def key(self) -> tuple[str, str, int, int]:
        return (self.region, self.level, self.row, self.col)

    def __str__(self) -> str:
        return f"tile {self.region}/{self.level} row {self.row} col {self.col}"


def level_grids(regions: Sequence[Region], levels: Sequence[Level]) -> dict[tuple[str, str], GridSpec]:
    """The grid of every (region name, level name)."""
    return {(region.name, name): grid for region in regions for name, grid in region.grids(levels).items()}


def corpus_tiles(grids: dict[tuple[str, str], GridSpec], tile_size: int) -> list[Tile]:
    """Every tile of the grids, coarse levels first, then by region, row and column."""

    def order(key):
        return (-Level.parse(key[1]).gsd, key[0])

    tiles = []
    for region, level in sorted(grids, key=order):
        for window in grids[(region, level)].tiles(tile_size):
            tiles.append(
                Tile(region, level, window.row_off // tile_size, window.col_off // tile_size, window)
            )
    return tiles
