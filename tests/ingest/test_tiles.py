from collections import Counter

import numpy as np
import pytest

from terrasynth.core import AreaOfInterest, Level
from terrasynth.ingest.tiles import CorpusTiles, LevelTiles, PendingTiles, level_grids

AOI = "8.9,45.9,9.3,46.1"


def grids(aoi=AOI, levels="60,16"):
    return level_grids(AreaOfInterest.parse(aoi).regions(), [Level.parse(gsd) for gsd in levels.split(",")])


def test_a_level_s_tiles_are_its_grid_s_windows_counted_not_listed():
    for (region, level), grid in grids().items():
        tiles = LevelTiles(region, level, grid, 100)
        windows = list(grid.tiles(100))
        assert [tile.window for tile in tiles] == windows and len(tiles) == len(windows)
        assert all(
            tile.key == (region, level, tile.window.row_off // 100, tile.window.col_off // 100)
            for tile in tiles
        )
        assert tiles.shapes() == Counter((w.height, w.width) for w in windows)
        assert len(tiles.shapes()) == 4  # whole tiles, the right and bottom edges, the corner


def test_corpus_tiles_index_and_slice_as_they_iterate_coarse_levels_first():
    tiles = CorpusTiles(grids("5,10,13,10.2"), 256)  # three UTM regions
    listed = list(tiles)
    levels = [tile.level for tile in listed]
    assert len(tiles) == len(listed) and levels == sorted(levels, key=lambda name: -Level.parse(name).gsd)
    assert [tiles[i] for i in range(len(tiles))] == listed and tiles[-1] == listed[-1]
    assert tiles[1:7:2] == listed[1:7:2] and tiles[::-1] == listed[::-1]
    assert Counter(tile.region for tile in listed).keys() == {"r00_utm31n", "r01_utm32n", "r02_utm33n"}
    with pytest.raises(IndexError):
        tiles[len(tiles)]


def test_pending_tiles_are_those_not_done_in_order_and_counted_per_level():
    levels = CorpusTiles(grids(), 256).levels
    done = [np.zeros(level.shape, dtype=bool) for level in levels]
    done[0][0, 1] = done[1][:, 0] = True
    pending = PendingTiles(list(zip(levels, done, strict=True)))
    expected = [
        tile
        for level, mask in zip(levels, done, strict=True)
        for tile in level
        if not mask[tile.row, tile.col]
    ]
    assert list(pending) == expected and len(pending) == len(expected)
    assert pending.counts == {"60m": len(levels[0]) - 1, "16m": len(levels[1]) - levels[1].shape[0]}
