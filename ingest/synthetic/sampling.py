"""Where a render samples the world, and how those samples become pixels.

The world is a function of position (metres in the grid's CRS). A pixel of a render at resolution
``r`` metres is the average of ``k x k`` point samples, ``k = ceil(r / pitch)``, spaced ``r / k``
metres apart; ``pitch`` is the world's finest sampling pitch, 4 m by default:

- at 4 m (or finer) each pixel is one sample, at its centre;
- at 16 m and 60 m a pixel is 4 x 4 and 15 x 15 samples, which are exactly the pixel centres of the
  4 m grid over the same area, so the 16 m and 60 m renders are block averages of the 4 m render
  (up to the rounding of each to whole reflectance units);
- at resolutions that are not a multiple of the pitch (10 m: 3 x 3 samples 3.33 m apart) a pixel is
  still the area average of the world over its footprint, sampled at least every ``pitch`` metres.

Sample coordinates are computed from whole-number indices counted from the CRS origin and snapped
to 1/64 m, so a window of a grid sees exactly the samples of the same pixels of a larger request:
no seams, whatever the tiling. Reductions of samples to pixels:

- reflectance: the mean, summed in 64-bit fixed point (exact, order-free), rounded half up;
- land cover: the most frequent class (ties go to the lower code);
- valid: a pixel is valid only if all its samples are;
- buildings: a pixel is a building if at least half its samples are.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from pyproj import CRS
from rasterio.windows import Window

from terrasynth.core.errors import SourceError
from terrasynth.core.grid import GridSpec

DEFAULT_PITCH = 4.0
"""Metres: the world's finest sampling pitch for renders at coarser resolutions."""
QUANTUM = 1.0 / 64.0
"""Metres: sample coordinates are snapped to this (an exact binary fraction)."""
FIXED_POINT = 256
"""Reflectance units (1e-4) are summed in steps of 1/256 when averaging samples."""
CHUNK_SAMPLES = 2**17
"""Samples rendered at once (keeps one chunk in dense towns to a few hundred MB)."""
_WHOLE = 1e-6  # pixels: origins closer than this to a whole pixel count as whole
_FRACTION_STEPS = 2**20  # a grid origin off the pixel lattice is snapped to 1/2**20 pixel


@dataclass(frozen=True)
class Sampling:
    """The samples behind a grid's pixels.

    Attributes:
        grid: the requested pixel grid.
        factor: samples per pixel along each axis (``k``).
        column0, row0: the grid's first column and row counted in pixels from the CRS origin
            (rows count southward from y = 0).
        offset_x, offset_y: the part of a pixel by which the grid's origin is off that lattice
            (0 for grids built with :meth:`GridSpec.from_bounds`).
    """

    grid: GridSpec
    factor: int
    column0: int
    row0: int
    offset_x: float
    offset_y: float

    @classmethod
    def of(cls, grid: GridSpec, pitch: float = DEFAULT_PITCH) -> Sampling:
        """The sampling of ``grid`` for a world sampled at least every ``pitch`` metres."""
        check_metric_crs(grid.crs)
        resolution = grid.resolution
        if not math.isclose(-grid.transform.e, resolution, rel_tol=1e-9):
            raise SourceError(
                f"the synthetic world renders square pixels; grid has {resolution} x {-grid.transform.e} m"
            )
        factor = max(1, math.ceil(resolution / pitch - 1e-9))
        column0, offset_x = _split(grid.transform.c / resolution)
        row0, offset_y = _split(-grid.transform.f / resolution)
        return cls(grid, factor, column0, row0, offset_x, offset_y)

    @property
    def pitch(self) -> float:
        """Metres between samples."""
        return self.grid.resolution / self.factor

    def chunks(self, max_samples: int = CHUNK_SAMPLES) -> Iterator[Window]:
        """Pixel windows covering the grid, each with at most about ``max_samples`` samples."""
        side = max(1, math.isqrt(max_samples) // self.factor)
        return self.grid.tiles(side)

    def axes(self, window: Window) -> tuple[np.ndarray, np.ndarray]:
        """Sample coordinates of a whole-pixel window: x of each sample column and y of each
        sample row (metres, CRS), ``width * k`` and ``height * k`` long."""
        k = self.factor
        columns = np.arange(
            (self.column0 + int(window.col_off)) * k, (self.column0 + int(window.col_off + window.width)) * k
        )
        rows = np.arange(
            (self.row0 + int(window.row_off)) * k, (self.row0 + int(window.row_off + window.height)) * k
        )
        r = self.grid.resolution
        x = (columns + 0.5) * self.pitch + self.offset_x * r
        y = -((rows + 0.5) * self.pitch + self.offset_y * r)
        return np.rint(x / QUANTUM) * QUANTUM, np.rint(y / QUANTUM) * QUANTUM


def _split(position: float) -> tuple[int, float]:
    """A position in pixels as a whole part and a fraction snapped to 1/2**20."""
    whole = round(position)
    if abs(position - whole) < _WHOLE:
        return int(whole), 0.0
    whole = math.floor(position)
    return int(whole), round((position - whole) * _FRACTION_STEPS) / _FRACTION_STEPS


@functools.lru_cache(maxsize=64)
def check_metric_crs(crs: str) -> None:
    """Raise :class:`SourceError` unless ``crs`` is projected in metres (the world is laid out in metres)."""
    parsed = CRS.from_user_input(crs)
    units = {axis.unit_name for axis in parsed.axis_info}
    if not parsed.is_projected or not units <= {"metre", "meter"}:
        raise SourceError(
            f"the synthetic world is laid out in metres; grid CRS {crs} is not projected in metres "
            "(use a UTM zone such as EPSG:32632)"
        )


def mean_of_blocks(samples: np.ndarray, factor: int) -> np.ndarray:
    """Average ``factor x factor`` blocks of the last two axes of reflectance samples (1e-4 units),
    rounded to uint16."""
    fixed = np.rint(np.clip(samples, 0.0, 65535.0) * FIXED_POINT).astype(np.int64)
    total = _block_sum(fixed, factor)
    count = factor * factor * FIXED_POINT
    return ((total + count // 2) // count).astype(np.uint16)


def mode_of_blocks(codes: np.ndarray, factor: int) -> np.ndarray:
    """The most frequent code of each ``factor x factor`` block (ties go to the lower code)."""
    if factor == 1:
        return codes.astype(np.uint8)
    classes = np.unique(codes)
    counts = np.stack([_block_sum((codes == c).astype(np.int32), factor) for c in classes])
    return classes[np.argmax(counts, axis=0)].astype(np.uint8)


def all_of_blocks(flags: np.ndarray, factor: int) -> np.ndarray:
    """True where every sample of a ``factor x factor`` block is True."""
    return _block_sum((~flags).astype(np.int32), factor) == 0


def majority_of_blocks(flags: np.ndarray, factor: int) -> np.ndarray:
    """True where at least half the samples of a ``factor x factor`` block are True."""
    return _block_sum(flags.astype(np.int32), factor) * 2 >= factor * factor


def _block_sum(values: np.ndarray, factor: int) -> np.ndarray:
    if factor == 1:
        return values
    *lead, rows, cols = values.shape
    blocks = values.reshape(*lead, rows // factor, factor, cols // factor, factor)
    return blocks.sum(axis=(-3, -1))
