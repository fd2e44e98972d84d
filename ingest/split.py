"""Splitting a pixel grid into requests that a pixel service accepts.

Earth Engine's ``computePixels`` answers at most 48 MB of uncompressed data and 32768 pixels per
side in one request. xee splits its own lazy reads the same way, but only inside its array
backend, so the corpus writer, which requests whole tiles itself, does it here.
"""

from __future__ import annotations

from rasterio.windows import Window

from terrasynth.core.errors import ConfigError

REQUEST_BYTE_LIMIT = 48 * 2**20
"""Bytes of uncompressed data one ``computePixels`` request may return."""
REQUEST_MAX_SIDE = 32768
"""Pixels per side one ``computePixels`` request may return."""


def split_window(
    shape: tuple[int, int],
    bytes_per_pixel: int,
    *,
    byte_limit: int = REQUEST_BYTE_LIMIT,
    max_side: int = REQUEST_MAX_SIDE,
) -> list[Window]:
    """Windows (pixels, row-major) covering a ``shape = (rows, columns)`` grid, each within the limits.

    The block is halved along its longer side until it fits, so every request but those at the
    right and bottom edges has the same size.

    Args:
        shape: (rows, columns) of the grid to cover.
        bytes_per_pixel: bytes one pixel costs, all bands together.
        byte_limit: the most bytes per request.
        max_side: the most pixels per side of a request.
    """
    if bytes_per_pixel > byte_limit:
        raise ConfigError(
            f"one pixel ({bytes_per_pixel} bytes) exceeds the request limit of {byte_limit} bytes"
        )
    rows, cols = shape
    block_rows, block_cols = rows, cols
    while block_rows * block_cols * bytes_per_pixel > byte_limit or max(block_rows, block_cols) > max_side:
        if block_rows >= block_cols:
            block_rows = -(-block_rows // 2)
        else:
            block_cols = -(-block_cols // 2)
    return [
        Window(col, row, min(block_cols, cols - col), min(block_rows, rows - row))
        for row in range(0, rows, block_rows)
        for col in range(0, cols, block_cols)
    ]


def request_count(shape: tuple[int, int], bytes_per_pixel: int) -> int:
    """How many requests :func:`split_window` makes for ``shape`` at the default limits."""
    return len(split_window(shape, bytes_per_pixel))
