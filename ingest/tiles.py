"""The tiles of a corpus: every (region, level, window) the writer fills, one Zarr chunk each.

A continent at 4 m is tens of millions of tiles, so tiles are never listed up front: each level's
tiles are a computed grid (:class:`LevelTiles`), counted by arithmetic and produced one at a time
as they are iterated.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import overload

import numpy as np
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


@dataclass(frozen=True)
class LevelTiles:
    """The tiles of one level of one region, ``tile_size`` pixels each, row by row.

    Attributes:
        region, level: the group names.
        grid: the level's pixel grid.
        tile_size: tile edge in pixels.
    """

    region: str
    level: str
    grid: GridSpec
    tile_size: int

    @property
    def shape(self) -> tuple[int, int]:
        """(rows, columns) of tiles."""
        return (-(-self.grid.height // self.tile_size), -(-self.grid.width // self.tile_size))

    def __len__(self) -> int:
        rows, cols = self.shape
        return rows * cols

    def tile(self, row: int, col: int) -> Tile:
        """The tile at (tile row, tile column)."""
        size, (height, width) = self.tile_size, self.grid.shape
        window = Window(col * size, row * size, min(size, width - col * size), min(size, height - row * size))
        return Tile(self.region, self.level, row, col, window)

    def __iter__(self) -> Iterator[Tile]:
        rows, cols = self.shape
        return (self.tile(row, col) for row, col in itertools.product(range(rows), range(cols)))

    def shapes(self) -> dict[tuple[int, int], int]:
        """How many tiles have each (height, width) in pixels: whole tiles, and the clipped ones at
        the right and bottom edges (at most four shapes)."""
        rows, cols = self.shape
        size, (height, width) = self.tile_size, self.grid.shape
        last_height, last_width = height - (rows - 1) * size, width - (cols - 1) * size
        counts: dict[tuple[int, int], int] = {}
        for shape, count in (
            ((size, size), (rows - 1) * (cols - 1)),
            ((size, last_width), rows - 1),
            ((last_height, size), cols - 1),
            ((last_height, last_width), 1),
        ):
            if count:
                counts[shape] = counts.get(shape, 0) + count
        return counts


class CorpusTiles(Sequence[Tile]):
    """Every tile of a corpus, coarse levels first, then by region, row and column; computed on
    demand, so that its length and any tile cost nothing however large the area."""

    def __init__(self, grids: dict[tuple[str, str], GridSpec], tile_size: int):
        def order(key):
            return (-Level.parse(key[1]).gsd, key[0])

        self.levels = [
            LevelTiles(region, level, grids[(region, level)], tile_size)
            for region, level in sorted(grids, key=order)
        ]

    @cached_property
    def _starts(self) -> list[int]:
        return list(itertools.accumulate((len(level) for level in self.levels), initial=0))

    def __len__(self) -> int:
        return self._starts[-1]

    @overload
    def __getitem__(self, index: int) -> Tile: ...

    @overload
    def __getitem__(self, index: slice) -> list[Tile]: ...

    def __getitem__(self, index: int | slice) -> Tile | list[Tile]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if not -len(self) <= index < len(self):
            raise IndexError(f"tile {index} of {len(self)}")
        index %= len(self)
        position = bisect.bisect_right(self._starts, index) - 1
        level = self.levels[position]
        return level.tile(*divmod(index - self._starts[position], level.shape[1]))

    def __iter__(self) -> Iterator[Tile]:
        return itertools.chain.from_iterable(self.levels)


def level_grids(regions: Sequence[Region], levels: Sequence[Level]) -> dict[tuple[str, str], GridSpec]:
    """The grid of every (region name, level name)."""
    return {(region.name, name): grid for region in regions for name, grid in region.grids(levels).items()}


class PendingTiles:
    """The tiles of some levels still to write, in order: a bool per tile says which are done, so
    that what is held grows by one byte per tile, never by a tile object.

    Args:
        levels: each level's tiles with its bool (tile rows, tile columns) array, True where done.
    """

    def __init__(self, levels: Sequence[tuple[LevelTiles, np.ndarray]]):
        self.levels = list(levels)
        self.counts: dict[str, int] = {}
        for tiles, done in self.levels:
            self.counts[tiles.level] = self.counts.get(tiles.level, 0) + int(done.size - done.sum())

    def __len__(self) -> int:
        return sum(self.counts.values())

    def __iter__(self) -> Iterator[Tile]:
        for tiles, done in self.levels:
            for row, columns in enumerate(done):
                for col in np.flatnonzero(~columns):
                    yield tiles.tile(row, int(col))
