"""One level of one region of a corpus as a torchgeo :class:`~torchgeo.datasets.GeoDataset`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import shapely
import torch
from geopandas import GeoDataFrame
from rasterio.windows import Window
from torchgeo.datasets import GeoDataset

from terrasynth.core.errors import CorpusError, GridError
from terrasynth.core.levels import Level
from terrasynth.datasets.chunk_cache import ChunkCache
from terrasynth.datasets.level_reader import LevelReader


class NoValidTilesError(CorpusError):
    """No tile of a level reaches the asked valid fraction."""


class CorpusDataset(GeoDataset):
    """A level of a corpus region, read lazily from Zarr, in the region's UTM CRS.

    The index holds one row per tile of ``tile_size`` pixels, counted from the grid origin, with
    its footprint (metres), its pixel offsets (``row``, ``col``) and the fraction of valid pixels
    (``valid_fraction``); tiles below ``min_valid_fraction`` are left out, so torchgeo's samplers
    never visit them. Tiles at the right and bottom edges keep their full size and reach past the
    grid: what lies outside reads as no data. The time axis is unbounded (``pd.Timestamp.min`` to
    ``max``), as for torchgeo's undated rasters.

    Queries are torchgeo slices ``[xmin:xmax, ymin:ymax, tmin:tmax]`` in metres; they are read at
    the level's own resolution, snapped to the nearest pixel (torchgeo's samplers always yield
    whole pixels). A sample is a dict:

    - ``image``: float32 (bands, H, W), surface reflectance (unitless, stored value x 1e-4);
    - ``landcover``: int64 (H, W), ESA WorldCover codes, 0 = no data;
    - ``valid``: bool (H, W), True where the image was observed;
    - ``gsd``: float32 scalar, metres per pixel;
    - ``crs``: the region's CRS (pyproj); ``bounds``: the query, as torchgeo returns it.
    """

    def __init__(
        self,
        path: str | Path,
        level: str | float | Level,
        region: str | None = None,
        *,
        tile_size: int | None = None,
        min_valid_fraction: float = 0.5,
        transforms: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
        tree=None,
        cache: ChunkCache | None = None,
    ) -> None:
        """Index one level of a corpus.

        Args:
            path: the corpus store.
            level: the level, e.g. ``"16m"``.
            region: the region group; may be left out when the corpus has one region.
            tile_size: index tile edge in pixels (default: the corpus' chunk size, so that a
                sampled tile is one chunk read).
            min_valid_fraction: tiles with a smaller fraction of valid pixels are skipped
                (0 keeps every tile).
            transforms: applied to each sample dict.
            tree: the corpus already opened with :func:`~terrasynth.core.open_corpus`.
            cache: where decoded chunks are kept (default: the process-wide cache; see
                :mod:`.chunk_cache`).
        """
        if not 0.0 <= min_valid_fraction <= 1.0:
            raise CorpusError(f"min_valid_fraction must be within [0, 1], got {min_valid_fraction}")
        self.paths = Path(path)
        self.reader = LevelReader(path, level, region, tree=tree, cache=cache)
        self.region = self.reader.region
        self.level = self.reader.level
        self.grid = self.reader.grid
        self.bands = self.reader.bands
        self.tile_size = int(tile_size or self.reader.tile_size)
        self.min_valid_fraction = min_valid_fraction
        self.transforms = transforms
        self._res = (self.level.gsd, self.level.gsd)
        self.index = self._tile_index()

    def _tile_index(self) -> GeoDataFrame:
        size = self.tile_size
        fractions = self.reader.valid_fractions(size)
        keep_rows, keep_cols = np.nonzero(fractions >= self.min_valid_fraction)
        if keep_rows.size == 0:
            raise NoValidTilesError(
                f"{self.paths}/{self.reader.group}: no {size}-pixel tile has a valid fraction of at least "
                f"{self.min_valid_fraction} (best {fractions.max():.2f}); lower min_valid_fraction"
            )
        transform, res = self.grid.transform, self.level.gsd
        lefts = transform.c + keep_cols * size * res
        tops = transform.f - keep_rows * size * res
        geometry = shapely.box(lefts, tops - size * res, lefts + size * res, tops)
        times = pd.IntervalIndex.from_tuples(
            [(pd.Timestamp.min, pd.Timestamp.max)] * keep_rows.size, closed="both", name="datetime"
        )
        data = {
            "row": keep_rows * size,
            "col": keep_cols * size,
            "valid_fraction": fractions[keep_rows, keep_cols],
        }
        return GeoDataFrame(data, index=times, geometry=geometry, crs=self.grid.crs)

    @property
    def valid_area(self) -> float:
        """Valid area of the indexed tiles in square metres."""
        tile_area = (self.tile_size * self.level.gsd) ** 2
        return float(self.index["valid_fraction"].sum() * tile_area)

    def query_window(self, query) -> Window:
        """The whole-pixel window on :attr:`grid` of a torchgeo query (snapped to the nearest pixel)."""
        x, y = query[:2] if isinstance(query, tuple) and len(query) >= 2 else (None, None)
        if x is None or None in (x.start, x.stop, y.start, y.stop):  # a partial query: fill from the bounds
            x, y, _ = self._disambiguate_slice(query)
        res = self.level.gsd
        for axis in (x, y):
            if axis.step is not None and abs(axis.step - res) > 1e-9 * res:
                raise GridError(
                    f"query step {axis.step} differs from the {self.level.name} level's {res} m pixels: "
                    "sample the level whose resolution you want"
                )
        left, top = self.grid.transform.c, self.grid.transform.f
        window = Window(
            round((x.start - left) / res),
            round((top - y.stop) / res),
            round((x.stop - x.start) / res),
            round((y.stop - y.start) / res),
        )
        rows, cols = self.grid.shape
        if (
            window.width < 1
            or window.height < 1
            or window.col_off >= cols
            or window.row_off >= rows
            or window.col_off + window.width <= 0
            or window.row_off + window.height <= 0
        ):
            raise IndexError(
                f"query {query} does not overlap {self.reader.group} (bounds {self.grid.bounds})"
            )
        return window

    def __getitem__(self, query) -> dict[str, Any]:
        """The sample of a torchgeo query ``[xmin:xmax, ymin:ymax, tmin:tmax]`` (metres)."""
        sample = self._read(query, self.query_window(query))
        if self.transforms is not None:
            sample = self.transforms(sample)
        return sample

    def _read(self, query, window: Window) -> dict[str, Any]:
        data = self.reader.read(window)
        return {
            "image": torch.from_numpy(self.reader.reflectance(data["image"])),
            "landcover": torch.from_numpy(data["landcover"].astype(np.int64)),
            "valid": torch.from_numpy(np.ascontiguousarray(data["valid"])),
            "gsd": torch.tensor(self.level.gsd, dtype=torch.float32),
            "crs": self.crs,
            "bounds": query,
        }
