"""The GeoTIFFs of ``terrasynth generate``: its low-resolution input read window by window, with
missing pixels (NaN or nodata) filled from their nearest valid neighbours, and its canvases
written in whole rows of tiles.

Writing whole tiles matters for large canvases: GDAL compresses and writes a whole tile at once,
while a partly written tile waits in its cache (and, once evicted, is written again for each
further part). Tile by tile nothing is left to flush, so an interrupted run stops at once and the
file never grows beyond its data.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import numpy as np

from terrasynth.core.errors import SourceError

TILE = 256
"""GeoTIFF tile side in pixels."""
MAX_MISSING = 0.01
"""Share of the input's pixels that may be missing and filled from their neighbours."""
FILL_REACH = 32
"""Pixels: the farthest a missing pixel's nearest valid neighbour may be."""
_CHUNK = 1024  # pixels: side of the input chunks counted and filled in one read


class RasterArray:
    """A rasterio dataset seen as a (bands, rows, columns) array of reflectance, or one ``band``
    of it (1-based) as a (rows, columns) array.

    Slicing reads (``array[..., r0:r1, c0:c1]``) and assignment writes (``array[:, r0:r1, :] = x``)
    one window; integer rasters hold reflectance / ``scale``.
    """

    def __init__(self, dataset, scale: float = 1.0, band: int | None = None):
        self.dataset, self.scale, self.band = dataset, scale, band
        self.shape = (dataset.count, dataset.height, dataset.width)[1 if band else 0 :]

    def _window(self, key):
        from rasterio.windows import Window

        rows, cols = key[-2:]
        r0, r1, _ = rows.indices(self.shape[-2])
        c0, c1, _ = cols.indices(self.shape[-1])
        return Window(c0, r0, c1 - c0, r1 - r0)

    def __getitem__(self, key):
        return self.dataset.read(self.band, window=self._window(key)).astype(np.float32) * np.float32(
            self.scale
        )

    def __setitem__(self, key, value):
        values = np.asarray(value, dtype=np.float64) / self.scale
        if np.issubdtype(np.dtype(self.dataset.dtypes[0]), np.integer):
            info = np.iinfo(self.dataset.dtypes[0])
            values = np.clip(np.round(values), info.min, info.max)
        self.dataset.write(values.astype(self.dataset.dtypes[0]), window=self._window(key))


class TileRows:
    """A :class:`RasterArray` written top to bottom in whole rows of ``tile``-pixel tiles.

    Rows assigned in order (``array[:, top:bottom, :] = values``) are held until a row of tiles is
    complete (or the raster ends), then written at once. Reads go to the file.
    """

    def __init__(self, array: RasterArray, tile: int):
        self.array, self.tile, self.shape = array, tile, array.shape
        self.written = 0  # rows in the file
        self.pending: list[np.ndarray] = []  # rows held, from ``written`` on

    def __getitem__(self, key):
        return self.array[key]

    def __setitem__(self, key, value):
        rows = key[1]
        held = sum(part.shape[1] for part in self.pending)
        if rows.start != self.written + held:
            raise ValueError(
                f"rows must be written in order: expected row {self.written + held}, got {rows.start}"
            )
        self.pending.append(np.asarray(value, dtype=np.float32))
        stop = self.written + held + self.pending[-1].shape[1]
        ready = stop if stop == self.shape[1] else stop - stop % self.tile
        if ready > self.written:
            rows_held = np.concatenate(self.pending, axis=1)
            count = ready - self.written
            self.array[:, self.written : ready, :] = rows_held[:, :count]
            self.pending = [rows_held[:, count:]] if count < rows_held.shape[1] else []
            self.written = ready


def canvas_profile(shape: tuple[int, int], channels: int, crs, transform, *, final: bool = True) -> dict:
    """The GeoTIFF profile of a canvas of ``shape`` (rows, columns): tiled; the final canvas as
    deflated uint16 reflectance x 1e4, an intermediate stage's as float32."""
    return {
        "driver": "GTiff", "width": shape[1], "height": shape[0], "count": channels, "crs": crs,
        "transform": transform, "tiled": True, "blockxsize": TILE, "blockysize": TILE, "BIGTIFF": "IF_SAFER",
        "dtype": "uint16" if final else "float32", **({"compress": "deflate", "predictor": 2} if final else {}),
    }  # fmt: skip


def write_canvas(image, path: str | Path, crs, transform) -> None:
    """Write ``image`` ((bands, rows, columns) reflectance, any array-like such as a Zarr array)
    to the GeoTIFF ``path`` as uint16 x 1e4, in whole rows of tiles."""
    import rasterio

    from terrasynth.core.corpus import REFLECTANCE_SCALE

    channels, rows, _ = image.shape
    with rasterio.open(path, "w+", **canvas_profile(image.shape[1:], channels, crs, transform)) as dataset:
        dataset.scales = [REFLECTANCE_SCALE] * channels
        target = TileRows(RasterArray(dataset, REFLECTANCE_SCALE), TILE)
        for top in range(0, rows, 4 * TILE):
            target[:, top : top + 4 * TILE, :] = np.asarray(image[:, top : top + 4 * TILE, :])


def open_raster(path: str | Path):
    """A rasterio dataset of ``path``; a file that is not a raster is a :class:`SourceError`."""
    import rasterio
    from rasterio.errors import RasterioIOError

    try:
        return rasterio.open(path)
    except RasterioIOError as error:
        reason = " ".join(str(error).split()).rstrip(".")
        raise SourceError(
            f"{path} is not a GeoTIFF that can be read ({reason}): give a GeoTIFF of reflectance"
        ) from None


def reflectance_scale(dataset, given: float | None = None) -> float:
    """Reflectance per stored unit of the rasterio ``dataset``: ``given``, else the file's own band
    scale, else ``REFLECTANCE_SCALE`` (1e-4) for integer rasters and 1 for floating-point ones."""
    from terrasynth.core.corpus import REFLECTANCE_SCALE

    if given is not None:
        return given
    if any(scale != 1.0 for scale in dataset.scales):
        return float(dataset.scales[0])
    return REFLECTANCE_SCALE if np.issubdtype(np.dtype(dataset.dtypes[0]), np.integer) else 1.0


def count_missing(dataset) -> int:
    """Pixels of ``dataset`` where any band is NaN, infinite or nodata (one pass, chunk by chunk)."""
    return sum(int(_missing(dataset, window).sum()) for window in _chunks(dataset))


def check_missing(dataset) -> int:
    """The missing pixels of ``dataset`` (see :func:`count_missing`), refused beyond :data:`MAX_MISSING`."""
    missing, total = count_missing(dataset), dataset.width * dataset.height
    if missing > MAX_MISSING * total:
        raise SourceError(
            f"{dataset.name}: {missing} of its {total} pixels ({missing / total:.1%}) are NaN or nodata, more "
            f"than the {MAX_MISSING:.0%} filled from their neighbours: fill or crop it first (e.g. gdal_fillnodata.py)"
        )
    return missing


def filled_copy(source: RasterArray, path: Path, stack: contextlib.ExitStack) -> RasterArray:
    """``source`` with every missing pixel set to its nearest valid neighbour's value, as a float32
    GeoTIFF of reflectance at ``path`` (opened in ``stack``).

    A pixel's value does not depend on how the raster is cut into chunks, so the filled input is
    the same for every window that reads it. A gap wider than ``2 * FILL_REACH`` pixels is refused.
    """
    import rasterio
    from rasterio.windows import Window
    from scipy import ndimage

    dataset = source.dataset
    profile = {
        "driver": "GTiff", "width": dataset.width, "height": dataset.height, "count": dataset.count,
        "dtype": "float32", "crs": dataset.crs, "transform": dataset.transform, "tiled": True,
        "blockxsize": TILE, "blockysize": TILE,
    }  # fmt: skip
    filled = stack.enter_context(rasterio.open(path, "w+", **profile))
    for window in _chunks(dataset):
        row0, col0 = max(0, window.row_off - FILL_REACH), max(0, window.col_off - FILL_REACH)
        row1 = min(dataset.height, window.row_off + window.height + FILL_REACH)
        col1 = min(dataset.width, window.col_off + window.width + FILL_REACH)
        padded = Window(col0, row0, col1 - col0, row1 - row0)
        values = source[..., row0:row1, col0:col1]
        gaps = _missing(dataset, padded, values)
        inner = (slice(window.row_off - row0, window.row_off - row0 + window.height),
                 slice(window.col_off - col0, window.col_off - col0 + window.width))  # fmt: skip
        if gaps[inner].any():
            distance, (rows, cols) = ndimage.distance_transform_edt(gaps, return_indices=True)
            far = (distance > FILL_REACH) | gaps.all()
            if far[inner].any():
                r, c = np.argwhere(far[inner])[0]
                raise SourceError(
                    f"{dataset.name}: the missing pixels around row {window.row_off + r}, column "
                    f"{window.col_off + c} are more than {FILL_REACH} px from a valid one: fill that gap first "
                    "(e.g. gdal_fillnodata.py) or crop it off"
                )
            values = values[:, rows, cols]
        filled.write(values[(slice(None), *inner)].astype(np.float32), window=window)
    return RasterArray(filled, 1.0)


def _missing(dataset, window, values: np.ndarray | None = None) -> np.ndarray:
    """(rows, cols) True where any band is NaN, infinite or masked (nodata, a mask band) in ``window``."""
    values = dataset.read(window=window) if values is None else values
    masked = (dataset.read_masks(window=window) == 0).any(axis=0)
    return masked | ~np.isfinite(values).all(axis=0)


def _chunks(dataset):
    from rasterio.windows import Window

    for row in range(0, dataset.height, _CHUNK):
        for col in range(0, dataset.width, _CHUNK):
            yield Window(col, row, min(_CHUNK, dataset.width - col), min(_CHUNK, dataset.height - row))
