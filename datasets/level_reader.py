"""Pixel-window reads from one level of one region of a corpus, straight from its Zarr arrays.

The training hot path reads the Zarr arrays directly (no xarray, no dask), through a cache of
decoded chunks shared by the process' readers (:mod:`.chunk_cache`): a window costs at most one
chunk read per chunk it touches and variable, and nothing when its chunks are still cached (a level
that fits in the cache is read from the store once). A reader forgets its store's chunks when it
opens, and does not see the store rewritten after that. The corpus is opened and validated once
with :func:`terrasynth.core.open_corpus`; each process (DataLoader worker) opens its own Zarr
handles and fills its own cache.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import cast

import numpy as np
import xarray as xr
import zarr
from rasterio.windows import Window

from terrasynth.core.corpus import REFLECTANCE_SCALE, corpus_regions, dataset_grid, open_corpus
from terrasynth.core.errors import CorpusError
from terrasynth.core.grid import GridSpec
from terrasynth.core.landcover import ClassTable
from terrasynth.core.levels import Level
from terrasynth.datasets.chunk_cache import ChunkCache, shared_cache

VARIABLES = ("image", "landcover", "valid")


class LevelReader:
    """The ``image``, ``landcover`` and ``valid`` arrays of ``/<region>/<level>``, read by pixel window.

    Attributes:
        path: the corpus (a Zarr store).
        region: the region group name, e.g. ``"r00_utm32n"``.
        level: the level (its ``gsd`` is metres per pixel).
        grid: the level's pixel grid (CRS, transform, shape in pixels).
        bands: band names, in the order of the image's first axis.
        reflectance_scale: stored image value x this = surface reflectance.
        classes: the land-cover legend.
        tile_size: the corpus' chunk edge in pixels.
    """

    def __init__(
        self,
        path: str | Path,
        level: str | float | Level,
        region: str | None = None,
        *,
        tree=None,
        cache: ChunkCache | None = None,
    ):
        """Open one level of a corpus.

        Args:
            path: the corpus store.
            level: the level, e.g. ``"16m"``.
            region: the region group; may be left out when the corpus has only one region.
            tree: the corpus already opened with :func:`~terrasynth.core.open_corpus` (saves a
                second validation when several levels are read).
            cache: where decoded chunks are kept (default: the process-wide
                :func:`~terrasynth.datasets.chunk_cache.shared_cache`; ``ChunkCache(0)`` keeps none).
        """
        self.path = str(Path(path).resolve())  # one spelling of the store for the chunk cache's keys
        tree = tree if tree is not None else open_corpus(path)
        regions = corpus_regions(tree)
        if region is None:
            if len(regions) != 1:
                raise CorpusError(f"{path} holds regions {regions}: name the one to read")
            region = regions[0]
        if region not in regions:
            raise CorpusError(f"{path} has no region {region!r}; its regions are {regions}")
        self.level = Level.parse(level)
        levels = sorted(tree[region].children)
        if self.level.name not in levels:
            raise CorpusError(f"{path}/{region} has no level {self.level.name!r}; its levels are {levels}")
        self.region = region
        ds: xr.Dataset = tree[f"{region}/{self.level.name}"].to_dataset()
        self.grid: GridSpec = dataset_grid(ds)
        self.bands = [str(band) for band in ds["band"].values]
        self.reflectance_scale = float(ds["image"].attrs.get("reflectance_scale", REFLECTANCE_SCALE))
        self.classes = ClassTable.from_attrs(ds["landcover"].attrs)
        self.tile_size = int(tree.attrs["tile_size"])
        self._arrays: tuple[int, dict[str, zarr.Array]] | None = None
        self._cache = cache

    @property
    def group(self) -> str:
        """The level's group path inside the store."""
        return f"{self.region}/{self.level.name}"

    def arrays(self) -> dict[str, zarr.Array]:
        """The Zarr arrays, opened once per process (DataLoader workers open their own)."""
        if self._arrays is None or self._arrays[0] != os.getpid():
            group = zarr.open_group(self.path, path=self.group, mode="r")
            self.cache.forget(str(group.store_path))  # the store may have been rewritten since
            # open_corpus checked that the level holds these variables: arrays, not groups
            self._arrays = (os.getpid(), {name: cast(zarr.Array, group[name]) for name in VARIABLES})
        return self._arrays[1]

    @property
    def cache(self) -> ChunkCache:
        return self._cache if self._cache is not None else shared_cache()

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_arrays": None}

    def read(self, window: Window, variables=VARIABLES, *, pad: bool = True) -> dict[str, np.ndarray]:
        """The stored values in a whole-pixel window of the grid.

        Args:
            window: pixel window (column offset, row offset, width, height) on :attr:`grid`.
            variables: which of ``image`` (uint16, (bands, rows, cols)), ``landcover`` (uint8) and
                ``valid`` (bool) to read.
            pad: fill the parts of the window outside the grid with 0 / False (image, land cover no
                data, not valid) so the arrays have the window's shape; without it the window is
                clipped to the grid.
        """
        col0, row0 = int(window.col_off), int(window.row_off)
        width, height = int(window.width), int(window.height)
        rows, cols = self.grid.shape
        r0, r1 = max(row0, 0), min(row0 + height, rows)
        c0, c1 = max(col0, 0), min(col0 + width, cols)
        if r1 <= r0 or c1 <= c0:
            raise CorpusError(f"window {window} lies outside the {rows} x {cols} pixel grid of {self.group}")
        arrays = [self.arrays()[name] for name in variables]
        lead = [(slice(None),) * (array.ndim - 2) for array in arrays]
        read = self.cache.read(dict(zip(variables, arrays, strict=True)), slice(r0, r1), slice(c0, c1))
        data = [read[name] for name in variables]
        if pad and (r0, r1, c0, c1) != (row0, row0 + height, col0, col0 + width):
            for i, (array, ld) in enumerate(zip(arrays, lead, strict=True)):
                full = np.zeros((*array.shape[:-2], height, width), dtype=array.dtype)
                full[(*ld, slice(r0 - row0, r1 - row0), slice(c0 - col0, c1 - col0))] = data[i]
                data[i] = full
        return dict(zip(variables, data, strict=True))

    def reflectance(self, image: np.ndarray) -> np.ndarray:
        """Stored image values as float32 surface reflectance."""
        return np.multiply(image, np.float32(self.reflectance_scale), dtype=np.float32)

    def clipped(self, window: Window) -> Window:
        """The part of a whole-pixel window that lies on the grid."""
        rows, cols = self.grid.shape
        r0, c0 = max(int(window.row_off), 0), max(int(window.col_off), 0)
        r1 = min(int(window.row_off + window.height), rows)
        c1 = min(int(window.col_off + window.width), cols)
        return Window(c0, r0, c1 - c0, r1 - r0)

    def valid_fractions(self, tile_size: int) -> np.ndarray:
        """Fraction of valid pixels in each ``tile_size`` tile, (tile rows, tile columns).

        Tiles run from the grid origin; those at the right and bottom edges reach past the grid,
        and the part outside counts as not valid. Reads the ``valid`` mask once, a strip at a time
        (around the cache, which it would flood).
        """
        rows, cols = self.grid.shape
        n_rows, n_cols = -(-rows // tile_size), -(-cols // tile_size)
        valid = {"valid": self.arrays()["valid"]}
        uncached = ChunkCache(0)
        fractions = np.zeros((n_rows, n_cols))
        for i in range(n_rows):
            strip = np.zeros((tile_size, n_cols * tile_size), dtype=bool)
            top = i * tile_size
            data = uncached.read(valid, slice(top, min(top + tile_size, rows)), slice(0, cols))["valid"]
            strip[: data.shape[0], :cols] = data
            fractions[i] = strip.reshape(tile_size, n_cols, tile_size).mean(axis=(0, 2))
        return fractions
