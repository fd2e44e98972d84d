"""A small deterministic Source test double: pixels are a function of their centre coordinates.

It keeps the ``Source`` contract without any data, optionally slowly (to be killed mid-run) and
logging every read (to tell which tiles were requested again after a resume).
"""

from __future__ import annotations

import os
import time

import numpy as np
import xarray as xr

from terrasynth.core.errors import SourceError
from terrasynth.core.grid import GridSpec
from terrasynth.core.landcover import WORLDCOVER
from terrasynth.core.levels import Level
from terrasynth.ingest.source import Source

BANDS = ["blue", "green", "red", "nir"]


class PatternSource(Source):
    """Reflectance, land cover and validity patterns in world coordinates.

    Args:
        delay: seconds each read sleeps.
        log: a file to which each read appends ``"<level> <left> <top> <start time>"`` (metres, seconds).
        fail_at: (level name, left, top) of a tile whose read fails permanently.
        concurrency: its ``max_concurrency``.
        setup_log: a file to which each :meth:`setup` appends the id of its process.
    """

    name = "pattern"

    def __init__(self, *, delay=0.0, log=None, fail_at=None, concurrency=None, setup_log=None):
        self.delay = delay
        self.log = str(log) if log else None
        self.setup_log = str(setup_log) if setup_log else None
        self.fail_at = tuple(fail_at) if fail_at else None
        self.max_concurrency = concurrency

    def bands(self, level: Level) -> list[str]:
        return list(BANDS)

    def describe(self) -> dict:
        return {"name": self.name, "pattern": "v1"}

    def setup(self) -> None:
        if self.setup_log:
            _append(self.setup_log, f"{os.getpid()}\n")

    def read(self, grid: GridSpec, level: Level) -> xr.Dataset:
        left, top = grid.transform.c, grid.transform.f
        if self.log:
            _append(self.log, f"{level.name} {left:.0f} {top:.0f} {time.time():.6f}\n")
        if self.fail_at == (level.name, round(left), round(top)):
            raise SourceError(f"injected permanent failure at ({left:.0f}, {top:.0f})")
        if self.delay:
            time.sleep(self.delay)
        x, y = grid.coords()
        xx, yy = np.meshgrid(x, y)
        base = np.floor(xx / 11.0 + yy / 17.0)
        image = np.stack([((base * (i + 2)) % 9000 + 100) for i in range(len(BANDS))]).astype(np.uint16)
        codes = np.array(WORLDCOVER.codes, dtype=np.uint8)
        landcover = codes[((xx // 120 + yy // 120) % len(codes)).astype(int)]
        valid = (xx // 360 + yy // 360) % 4 != 0
        return xr.Dataset(
            {
                "image": (("band", "y", "x"), image),
                "landcover": (("y", "x"), landcover),
                "valid": (("y", "x"), valid),
            },
            coords={"band": BANDS, "y": y, "x": x},
        )


def _append(path: str, line: str) -> None:
    """One line appended with O_APPEND, so lines from concurrent processes never interleave."""
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    os.write(descriptor, line.encode())
    os.close(descriptor)


def read_log(path) -> list[tuple[str, int, int, float]]:
    """The reads logged in ``path``: (level, left, top, start time)."""
    if not os.path.exists(path):
        return []
    entries = []
    with open(path) as lines:
        for line in lines:
            level, left, top, started = line.split()
            entries.append((level, int(left), int(top), float(started)))
    return entries
