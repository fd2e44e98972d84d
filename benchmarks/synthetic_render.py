"""How long the synthetic world takes to render: a 1024 x 1024 window at 4 m, and its coarser levels.

Figures are CPU seconds of this process (numpy is single-threaded here), best of a few runs.
Ratios are against reference runs in the same process: ``tiled_ratio`` is the window's time over
rendering it as 256 x 256 tiles one by one (as a corpus writer does; 1.0 = no overhead either way),
and ``level_*_ratio`` is each coarser level of the same area over its 4 m render (coarse pixels
average the 4 m samples, so they cost about the same).

    uv run python benchmarks/run.py --only synthetic_render [--quick]
"""

from __future__ import annotations

import time

from affine import Affine

from terrasynth.core.grid import GridSpec
from terrasynth.ingest.synthetic import SyntheticWorld

CORNER = (302_080.0, 4_916_640.0)  # seed 0: a town with its fields and forest (metres, EPSG:32632)
DATE = "2021-06-01"


def _grid(resolution: float, pixels: int) -> GridSpec:
    return GridSpec(
        "EPSG:32632", Affine(resolution, 0.0, CORNER[0], 0.0, -resolution, CORNER[1]), (pixels, pixels)
    )


def _seconds(world: SyntheticWorld, grids: list[GridSpec], repeats: int) -> float:
    """CPU seconds to render all ``grids``, best of ``repeats``."""
    best = float("inf")
    for _ in range(repeats):
        start = time.process_time()
        for grid in grids:
            world.render(grid, DATE)
        best = min(best, time.process_time() - start)
    return best


def run(quick: bool) -> dict:
    """Render timings (CPU seconds) of a large 4 m window, of it in tiles, and of its coarser levels."""
    world = SyntheticWorld(seed=0)
    world.render(_grid(4.0, 64), DATE)  # warm up imports and caches
    large = 512 if quick else 1024
    repeats = 1 if quick else 2
    window = _grid(4.0, large)
    fine = _seconds(world, [window], repeats)
    tiled = _seconds(world, [window.subgrid(tile) for tile in window.tiles(256)], repeats)
    extent = large * 4.0
    coarse = {f"{r:g}m": _seconds(world, [_grid(r, round(extent / r))], repeats) for r in (16.0, 60.0)}
    return {
        "window_pixels": large,
        f"window_{large}_4m_s": round(fine, 3),
        "megapixels_per_s_4m": round(large * large / fine / 1e6, 3),
        "tiles_256_4m_s": round(tiled, 3),
        "tiled_ratio": round(fine / tiled, 3),
        **{f"level_{name}_s": round(seconds, 3) for name, seconds in coarse.items()},
        **{f"level_{name}_ratio": round(seconds / fine, 3) for name, seconds in coarse.items()},
    }
