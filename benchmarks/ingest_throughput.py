"""Earth Engine ingest throughput against the concurrency bound and against a plain xee read.

The fake Earth Engine of the tests (tests/data/ingest/fake_earthengine.py) answers every pixel
request after an injected latency (200 ms +- 50 ms by default). Two runs over the same 16 m grid:

- ours: ``run_ingest`` with the Earth Engine source, ``concurrency`` requests in flight (threads in
  this process: the fake lives here), tile by tile into a corpus;
- xee: ``xr.open_dataset(collection, engine="ee", ...)`` of the same image on the same grid, then
  ``.to_zarr(...)``, with xee's defaults.

Figures: our requests per second as a fraction of the bound ``concurrency / mean latency``, and the
wall-time ratio xee / ours for the same pixels. Run:
``uv run python benchmarks/run.py --only ingest_throughput [--quick]``.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1] / "tests" / "data" / "ingest"))

from fake_earthengine import fake_earth_engine, pattern_answer

LATENCY_S, JITTER_S = 0.2, 0.05
CONCURRENCY = 32
TILE_SIZE = 256
AOI = {True: "9.0,45.0,9.2,45.15", False: "9.0,45.0,9.6,45.35"}  # quick: 20 tiles at 16 m; full: 120


def run(quick: bool) -> dict:
    """Both runs on the same fake; returns their figures."""
    import xarray as xr

    import terrasynth.ingest.writer
    import terrasynth.workflows.dask_cluster  # noqa: F401  (imported before the clock starts)
    from terrasynth.core import AreaOfInterest, Level
    from terrasynth.ingest.earthengine import EarthEngineSource, ee
    from terrasynth.workflows.ingest import run_ingest

    area, level = AreaOfInterest.parse(AOI[quick]), Level(16.0)
    source = EarthEngineSource("2023-06-01", "2023-09-01", concurrency=CONCURRENCY)
    with tempfile.TemporaryDirectory() as directory:
        with fake_earth_engine(
            pattern_answer
        ):  # warm-up: first-use costs (lazy imports, codecs) stay off the clock
            run_ingest(
                source,
                "9.0,45.0,9.01,45.01",
                Path(directory) / "warm.zarr",
                levels=[level],
                scheduler="threads",
                progress=False,
            )
        with fake_earth_engine(pattern_answer, latency=LATENCY_S, jitter=JITTER_S) as server:
            started = time.perf_counter()
            summary = run_ingest(
                source, area, Path(directory) / "corpus.zarr", levels=[level], tile_size=TILE_SIZE,
                scheduler="threads", progress=False,
            )  # fmt: skip
            ours_s = time.perf_counter() - started
            ours_requests, ours_peak = len(server.requests), server.peak_in_flight

        grid = area.regions()[0].grids([level])[level.name]
        with fake_earth_engine(pattern_answer, latency=LATENCY_S, jitter=JITTER_S) as server:
            source.setup()
            started = time.perf_counter()
            dataset = xr.open_dataset(
                ee.ImageCollection([source.expression(grid, level)]),
                engine="ee",
                crs=grid.crs,
                crs_transform=tuple(grid.transform)[:6],
                shape_2d=(grid.width, grid.height),
                io_chunks={"width": TILE_SIZE, "height": TILE_SIZE},
            )
            dataset.to_zarr(Path(directory) / "xee.zarr", mode="w", consolidated=False)
            xee_s = time.perf_counter() - started
            xee_requests, xee_peak = len(server.requests), server.peak_in_flight

    bound = CONCURRENCY / LATENCY_S
    return {
        "latency_s": LATENCY_S,
        "jitter_s": JITTER_S,
        "concurrency": CONCURRENCY,
        "grid_pixels": grid.height * grid.width,
        "tiles": summary.written,
        "ours": {
            "seconds": round(ours_s, 3),
            "requests": ours_requests,
            "requests_per_s": round(ours_requests / ours_s, 2),
            "peak_in_flight": ours_peak,
        },
        "bound_requests_per_s": bound,
        "fraction_of_bound": round(ours_requests / ours_s / bound, 3),
        "xee": {
            "seconds": round(xee_s, 3),
            "requests": xee_requests,
            "requests_per_s": round(xee_requests / xee_s, 2),
            "peak_in_flight": xee_peak,
        },
        "xee_over_ours_wall_time": round(xee_s / ours_s, 2),
    }
