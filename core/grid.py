"""Pixel grids and the window arithmetic between the levels of one region.

All coordinates are in the grid's CRS units (metres for the UTM grids of a corpus); windows are in
pixels, as :class:`rasterio.windows.Window` (column offset, row offset, width, height).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np
from affine import Affine
from pyproj import CRS
from rasterio.windows import Window

from terrasynth.core.errors import GridError
from terrasynth.core.levels import Level, common_pitch

Bounds = tuple[float, float, float, float]
"""(left, bottom, right, top) in CRS units."""

_EPS = 1e-9  # pixels: offsets closer than this to a whole number count as whole


@dataclass(frozen=True)
class GridSpec:
    """A north-up pixel grid.

    Attributes:
        crs: the coordinate reference system, as an authority string such as ``"EPSG:32632"``.
        transform: affine map from (column, row) pixel corners to CRS coordinates.
        shape: (rows, columns) in pixels.
    """

    crs: str
    transform: Affine
    shape: tuple[int, int]

    def __post_init__(self):
        t = self.transform
        if t.b != 0 or t.d != 0 or t.a <= 0 or t.e >= 0:
            raise GridError(f"grid must be north-up with positive pixel size, got transform {tuple(t)[:6]}")
        rows, cols = self.shape
        if int(rows) != rows or int(cols) != cols or rows < 1 or cols < 1:
            raise GridError(f"grid shape must be positive whole pixels, got {self.shape}")
        object.__setattr__(self, "shape", (int(rows), int(cols)))
        object.__setattr__(self, "crs", _crs_string(self.crs))

    @classmethod
    def from_bounds(
        cls, bounds: Bounds, crs: str, resolution: float, *, pitch: float | None = None
    ) -> GridSpec:
        """The grid of square ``resolution``-metre pixels covering ``bounds`` (CRS units).

        The origin and the extent are snapped outward to multiples of ``pitch`` (default: the
        resolution), counted from the CRS origin, so grids built with one pitch share their origin.
        """
        left, bottom, right, top = bounds
        if not (right > left and top > bottom):
            raise GridError(f"bounds {bounds} are empty: need left < right and bottom < top")
        pitch = pitch or resolution
        if not _is_whole(pitch / resolution):
            raise GridError(f"pitch {pitch} m is not a whole number of {resolution} m pixels")
        x0 = math.floor(left / pitch + _EPS) * pitch
        y1 = math.ceil(top / pitch - _EPS) * pitch
        x1 = math.ceil(right / pitch - _EPS) * pitch
        y0 = math.floor(bottom / pitch + _EPS) * pitch
        shape = (round((y1 - y0) / resolution), round((x1 - x0) / resolution))
        return cls(crs, Affine(resolution, 0.0, x0, 0.0, -resolution, y1), shape)

    @property
    def resolution(self) -> float:
        """Pixel size in CRS units (metres for UTM)."""
        return self.transform.a

    @property
    def height(self) -> int:
        return self.shape[0]

    @property
    def width(self) -> int:
        return self.shape[1]

    @property
    def bounds(self) -> Bounds:
        return self.window_bounds(Window(0, 0, self.width, self.height))

    @property
    def window(self) -> Window:
        """The window of the whole grid."""
        return Window(0, 0, self.width, self.height)

    def window_bounds(self, window: Window) -> Bounds:
        """(left, bottom, right, top) in CRS units of a pixel window."""
        left, top = self.transform @ (window.col_off, window.row_off)
        right, bottom = self.transform @ (window.col_off + window.width, window.row_off + window.height)
        return (left, bottom, right, top)

    def window_from_bounds(self, bounds: Bounds) -> Window:
        """The exact, possibly fractional, pixel window of ``bounds`` on this grid."""
        left, bottom, right, top = bounds
        inverse = ~self.transform
        col0, row0 = inverse @ (left, top)
        col1, row1 = inverse @ (right, bottom)
        return Window(_tidy(col0), _tidy(row0), _tidy(col1 - col0), _tidy(row1 - row0))

    def window_on(self, other: GridSpec, window: Window) -> Window:
        """The exact window on ``other`` with the same footprint as ``window`` on this grid.

        Fractional where the resolutions do not divide (one 60 m pixel is 3.75 pixels at 16 m).
        """
        self._check_same_crs(other)
        return other.window_from_bounds(self.window_bounds(window))

    def covering_window(self, other: GridSpec, window: Window) -> Window:
        """The smallest whole-pixel window on ``other`` that covers ``window`` on this grid."""
        return snap_window(self.window_on(other, window))

    def is_aligned(self, other: GridSpec, window: Window) -> bool:
        """Whether ``window`` on this grid falls on whole pixels of ``other``."""
        w = self.window_on(other, window)
        return all(_is_whole(v) for v in (w.col_off, w.row_off, w.width, w.height))

    def tiles(self, size: int | tuple[int, int]) -> Iterator[Window]:
        """Windows of ``size`` pixels (rows, columns) in row-major order from the grid origin.

        Tiles at the right and bottom edges are clipped to the grid, so they may be smaller.
        """
        rows, cols = (size, size) if isinstance(size, int) else size
        if rows < 1 or cols < 1:
            raise GridError(f"tile size must be at least one pixel, got {size}")
        for row in range(0, self.height, rows):
            for col in range(0, self.width, cols):
                yield Window(col, row, min(cols, self.width - col), min(rows, self.height - row))

    def subgrid(self, window: Window) -> GridSpec:
        """The grid of a whole-pixel window of this grid."""
        if not all(_is_whole(v) for v in (window.col_off, window.row_off, window.width, window.height)):
            raise GridError(f"subgrid needs a whole-pixel window, got {window}")
        transform = self.transform @ Affine.translation(round(window.col_off), round(window.row_off))
        return GridSpec(self.crs, transform, (round(window.height), round(window.width)))

    def coords(self) -> tuple[np.ndarray, np.ndarray]:
        """Pixel-centre coordinates (x of each column, y of each row) in CRS units."""
        t = self.transform
        x = t.c + (np.arange(self.width) + 0.5) * t.a
        y = t.f + (np.arange(self.height) + 0.5) * t.e
        return x, y

    def _check_same_crs(self, other: GridSpec) -> None:
        if self.crs != other.crs:
            raise GridError(f"grids are in different CRS ({self.crs} and {other.crs}); warp one first")


def aligned_grids(bounds: Bounds, crs: str, levels: Iterable[Level]) -> dict[str, GridSpec]:
    """One grid per level over ``bounds``, all sharing origin and extent.

    Origin and extent are snapped to the levels' common pitch (240 m for 60/16/4), so a window on
    one level maps exactly onto every other level.
    """
    levels = list(levels)
    pitch = common_pitch(levels)
    return {level.name: GridSpec.from_bounds(bounds, crs, level.gsd, pitch=pitch) for level in levels}


def snap_window(window: Window) -> Window:
    """The smallest whole-pixel window containing a fractional one."""
    col0 = math.floor(window.col_off + _EPS)
    row0 = math.floor(window.row_off + _EPS)
    col1 = math.ceil(window.col_off + window.width - _EPS)
    row1 = math.ceil(window.row_off + window.height - _EPS)
    return Window(col0, row0, col1 - col0, row1 - row0)


def _is_whole(value: float) -> bool:
    return abs(value - round(value)) < _EPS


def _tidy(value: float) -> float:
    """Round values within float noise of a whole pixel to it."""
    return float(round(value)) if _is_whole(value) else float(value)


def _crs_string(crs) -> str:
    try:
        parsed = CRS.from_user_input(crs)
    except Exception as error:
        raise GridError(f"unknown CRS {crs!r}: give an EPSG code such as 'EPSG:32632' ({error})") from None
    authority = parsed.to_authority()
    return f"{authority[0]}:{authority[1]}" if authority else parsed.to_wkt()
