#!/usr/bin/env python3
"""Write a small corpus: ``corpus_template``, then every tile of every level filled by a source.

Any :class:`terrasynth.ingest.source.Source` can fill it (pass ``source=``, e.g. the synthetic
world); the default :class:`RampSource` paints fields whose values are known functions of the map
coordinates, so tests can check footprints to the pixel:

- band 0 = ``RAMP_SCALE`` x (x - ``X_REF``) and band 1 = ``RAMP_SCALE`` x (y - ``Y_REF``) (x, y:
  pixel-centre metres); a linear field, so every level and any bilinear resampling of it agree;
- band 2 = land-cover code x 100; band 3 a smooth texture;
- land cover: WorldCover codes in 480 m blocks; valid: False on a checkerboard of 1024 m squares
  and outside the area of interest.

Run ``python tests/data/corpus/data.py OUT.zarr`` to write one by hand.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import numpy as np
import xarray as xr

from terrasynth.core import DEFAULT_LADDER, GridSpec, Level
from terrasynth.ingest.source import Source

AOI = "9.0,45.0,9.02,45.01"
"""About 1.6 x 1.1 km in UTM zone 32N: 105 x 75 pixels at 16 m."""
TWO_ZONES = (
    '{"type": "MultiPolygon", "coordinates": ['
    "[[[9.0, 45.0], [9.02, 45.0], [9.02, 45.01], [9.0, 45.01], [9.0, 45.0]]],"
    "[[[15.0, 45.0], [15.01, 45.0], [15.01, 45.01], [15.0, 45.01], [15.0, 45.0]]]]}"
)
"""Two small boxes in UTM zones 32N and 33N: a corpus with two regions in two CRS."""
RAMP_SCALE, X_REF, Y_REF = 0.5, 480_000.0, 4_960_000.0
CODES = np.array([10, 20, 30, 40, 50, 60, 80], dtype=np.uint8)


class RampSource(Source):
    """Imagery whose values are simple functions of the map coordinates (see the module doc)."""

    name = "ramp"

    def bands(self, level: Level) -> list[str]:
        return ["B2", "B3", "B4", "B8"]

    def read(self, grid: GridSpec, level: Level) -> xr.Dataset:
        xs, ys = grid.coords()
        x, y = np.meshgrid(xs, ys)
        landcover = CODES[(np.floor(x / 480) + 3 * np.floor(y / 480)).astype(int) % len(CODES)]
        image = np.stack(
            [
                RAMP_SCALE * (x - X_REF),
                RAMP_SCALE * (y - Y_REF),
                landcover.astype(float) * 100,
                2000 + 1000 * np.sin(x / 97.0) * np.cos(y / 131.0),
            ]
        )
        valid = (np.floor(x / 1024) + np.floor(y / 1024)).astype(int) % 4 != 3
        return xr.Dataset(
            {
                "image": (("band", "y", "x"), np.clip(np.rint(image), 0, 65535).astype(np.uint16)),
                "landcover": (("y", "x"), landcover),
                "valid": (("y", "x"), valid),
            },
            coords={"band": self.bands(level), "y": ys, "x": xs},
        )

    def describe(self) -> dict:
        return {"name": self.name, "ramp_scale": RAMP_SCALE, "x_ref": X_REF, "y_ref": Y_REF}


def ramp_value(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Bands 0 and 1 of :class:`RampSource` as reflectance at map coordinates (metres), (2, ...)."""
    return np.stack([RAMP_SCALE * (x - X_REF), RAMP_SCALE * (y - Y_REF)]) * 1e-4


def build_corpus(
    path,
    *,
    aoi: str = AOI,
    levels: Sequence[Level] = DEFAULT_LADDER,
    tile_size: int = 32,
    source: Source | None = None,
) -> str:
    """Write a complete corpus at ``path`` with the real ingest (on threads, no progress bars) and
    return the path. Tiles come from ``source`` (default :class:`RampSource`); pixels outside the
    area's region are not valid."""
    from terrasynth.workflows.ingest import run_ingest

    run_ingest(
        source or RampSource(),
        aoi,
        path,
        levels=levels,
        tile_size=tile_size,
        overwrite=True,
        scheduler="threads",
        progress=False,
    )
    return str(path)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(f"usage: python {sys.argv[0]} OUT.zarr")
    print(build_corpus(sys.argv[1]))
