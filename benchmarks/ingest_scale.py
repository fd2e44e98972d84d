"""Ingest at continent scale: the dry-run of Europe, and the memory of a 10^5-tile ingest.

- dry run: ``terrasynth ingest --aoi -10,35,40,70 --dry-run`` (Europe at 60/16/4 m, 18 million
  tiles) in a fresh process: wall time (imports included) and peak resident memory.
- ingest: :func:`run_ingest` of a 60 m level cut into 16-pixel tiles over 4 x 2.7 degrees
  (105,609 tiles; ``--quick``: 1,056), from a source that answers at no cost (zeros), on threads in
  this process, so that the resident memory sampled twice a second is all of it. Flat memory means
  the growth from the first tenth of the tiles to the end stays a few MB, not a multiple of the
  tile count.

Run: ``uv run python benchmarks/run.py --only ingest_scale [--quick]``.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

EUROPE = "-10,35,40,70"
AREA = {True: "9,45,9.4,45.27", False: "9,45,13,47.7"}
LEVEL, TILE_SIZE = "60", 16
SAMPLE_S = 0.5
DRY_RUN = f"""
import resource, sys, time
started = time.perf_counter()
from terrasynth.workflows.cli import main
try:
    main(["ingest", "--aoi", "{EUROPE}", "--dry-run"])
except SystemExit as exit:
    assert not exit.code, exit.code
peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
for line in open("/proc/self/status"):  # the peak of this process alone, where Linux says it
    if line.startswith("VmHWM:"):
        peak_kb = int(line.split()[1])
print("figures", time.perf_counter() - started, peak_kb, file=sys.stderr)
"""


def dry_run() -> dict:
    """Seconds and peak resident MB of Europe's dry run, in a fresh process."""
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-c", DRY_RUN], capture_output=True, text=True, timeout=600)
    wall = time.perf_counter() - started
    if result.returncode:
        raise RuntimeError(result.stderr)
    inside, peak_kb = result.stderr.rsplit("figures", 1)[1].split()
    summary = [line for line in result.stdout.splitlines() if "region(s)" in line]
    return {
        "aoi": EUROPE,
        "levels": "60,16,4",
        "plan": summary[-1].strip(),
        "seconds_process": round(wall, 2),
        "seconds_in_main": round(float(inside), 2),
        "peak_rss_mb": round(int(peak_kb) / 1024, 1),
    }


def free_source():
    """A source that answers every tile with zeros, and counts its reads."""
    import numpy as np
    import xarray as xr

    from terrasynth.ingest.source import Source

    class FreeSource(Source):
        name = "free"
        reads = 0

        def bands(self, level):
            return ["b"]

        def describe(self):
            return {"name": self.name}

        def read(self, grid, level):
            FreeSource.reads += 1
            x, y = grid.coords()
            return xr.Dataset(
                {
                    "image": (("band", "y", "x"), np.zeros((1, *grid.shape), np.uint16)),
                    "landcover": (("y", "x"), np.zeros(grid.shape, np.uint8)),
                    "valid": (("y", "x"), np.ones(grid.shape, bool)),
                },
                coords={"band": ["b"], "y": y, "x": x},
            )

    return FreeSource()


def ingest(quick: bool) -> dict:
    """Resident memory of this process while a whole area is ingested, sampled every SAMPLE_S."""
    import psutil

    from terrasynth.workflows.ingest import run_ingest

    process, source = psutil.Process(), free_source()
    samples: list[tuple[int, float]] = []
    done = threading.Event()

    def sample():
        while not done.wait(SAMPLE_S):
            samples.append((type(source).reads, process.memory_info().rss / 2**20))

    with tempfile.TemporaryDirectory() as directory:
        before = process.memory_info().rss / 2**20
        sampler = threading.Thread(target=sample, daemon=True)
        started = time.perf_counter()
        sampler.start()
        summary = run_ingest(
            source,
            AREA[quick],
            Path(directory) / "corpus.zarr",
            levels=LEVEL,
            tile_size=TILE_SIZE,
            scheduler="threads",
            progress=False,
        )
        seconds = time.perf_counter() - started
        done.set()
        sampler.join()
        samples.append((type(source).reads, process.memory_info().rss / 2**20))
    tiles = summary.written

    def rss_at(fraction: float) -> float:
        return next(rss for reads, rss in samples if reads >= fraction * tiles)

    return {
        "aoi": AREA[quick],
        "level": f"{LEVEL}m",
        "tile_size": TILE_SIZE,
        "tiles": tiles,
        "runner": summary.runner,
        "seconds": round(seconds, 1),
        "tiles_per_s": round(tiles / seconds, 1),
        "rss_mb_before": round(before, 1),
        "rss_mb_at_10_percent": round(rss_at(0.1), 1),
        "rss_mb_at_50_percent": round(rss_at(0.5), 1),
        "rss_mb_at_90_percent": round(rss_at(0.9), 1),
        "rss_mb_peak": round(max(rss for _, rss in samples), 1),
        "growth_mb_10_to_90_percent": round(rss_at(0.9) - rss_at(0.1), 1),
        "samples": [(reads, round(rss, 1)) for reads, rss in samples[:: max(1, len(samples) // 40)]],
    }


def run(quick: bool) -> dict:
    """Both measurements."""
    return {"dry_run": dry_run(), "ingest": ingest(quick)}
