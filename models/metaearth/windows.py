"""MetaEarth's sliding windows: tiles overlapping by half, a quarter cut from each side at merges.

Along each axis, window ``k`` covers pixels ``[k*s, k*s + window)`` with stride ``s = window / 2``
and contributes its central half ``[k*s + s/2, k*s + 3s/2)`` to the canvas; the first window also
keeps its leading quarter and the last its trailing one. The kept parts tile the canvas exactly.
The canvas is padded at the bottom and right to whole windows (``(n + 1) * s`` pixels for ``n``
windows); the padding is generated and dropped.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

from terrasynth.core.errors import ConfigError


@dataclass(frozen=True)
class WindowGrid:
    """The windows over a ``height`` x ``width`` pixel canvas.

    Attributes:
        height, width: the canvas in pixels.
        window: the window side in pixels (a multiple of 4).
    """

    height: int
    width: int
    window: int

    def __post_init__(self):
        if self.window < 4 or self.window % 4:
            raise ConfigError(f"window must be a positive multiple of 4 pixels, got {self.window}")
        if self.height < 1 or self.width < 1:
            raise ConfigError(f"canvas must be at least 1 x 1 pixels, got {self.height} x {self.width}")

    @property
    def stride(self) -> int:
        """Pixels between window starts: half a window."""
        return self.window // 2

    @property
    def rows(self) -> int:
        """Windows down the canvas."""
        return _count(self.height, self.window)

    @property
    def cols(self) -> int:
        """Windows across the canvas."""
        return _count(self.width, self.window)

    @property
    def padded_shape(self) -> tuple[int, int]:
        """The canvas padded to whole windows, (rows, columns) in pixels."""
        return (self.rows + 1) * self.stride, (self.cols + 1) * self.stride

    def kept_rows(self, row: int) -> tuple[int, int]:
        """Canvas rows ``[start, stop)`` that window row ``row`` contributes (clipped to the canvas)."""
        return _kept(row, self.rows, self.stride, self.height)

    def kept_cols(self, col: int) -> tuple[int, int]:
        """Canvas columns ``[start, stop)`` that window column ``col`` contributes."""
        return _kept(col, self.cols, self.stride, self.width)

    def window_rows_for(self, rows: tuple[int, int]) -> range:
        """The window rows whose kept parts meet canvas rows ``[start, stop)``."""
        start, stop = rows
        needed = [r for r in range(self.rows) if _overlaps(self.kept_rows(r), (start, stop))]
        return range(needed[0], needed[-1] + 1) if needed else range(0)

    def windows(self, window_rows: range | None = None) -> Iterator[tuple[int, int]]:
        """(row, col) indices of windows in raster order; window (r, c) starts at pixel (r*s, c*s)."""
        for row in window_rows if window_rows is not None else range(self.rows):
            for col in range(self.cols):
                yield row, col


def _count(length: int, window: int) -> int:
    stride = window // 2
    return max(1, math.ceil((length - window) / stride) + 1)


def _kept(index: int, count: int, stride: int, length: int) -> tuple[int, int]:
    start = 0 if index == 0 else index * stride + stride // 2
    stop = (count + 1) * stride if index == count - 1 else (index + 1) * stride + stride // 2
    return min(start, length), min(stop, length)


def _overlaps(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] < a[1] and b[0] < b[1] and a[0] < b[1] and b[0] < a[1]
