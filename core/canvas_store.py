"""The chunked store of a canvas generated block by block: a Zarr DataTree, resumable.

``canvas.zarr`` holds one group per level of the run, named by its resolution like a corpus'
levels (``/16m``, ``/4m``, and the low-resolution input, copied in with its missing pixels
filled, at its own level): each holds ``image (band, y, x)``, float32 surface reflectance (the
later stages read the earlier ones back as their condition, unrounded as in a one-process run),
with ``x``/``y`` pixel centres and a rioxarray ``spatial_ref`` when the canvas is georeferenced.
Chunks are one block high, so no two blocks ever write one chunk.

As a corpus is (:mod:`terrasynth.ingest.writer`), the store is made once from a template
(``to_zarr(compute=False)`` under a temporary name, then renamed), and each finished block is
recorded in a :class:`~terrasynth.core.manifest.TileManifest` beside it (``canvas.zarr.manifest/``,
with the job's settings in ``job.json``) only after its rows are written: a kill loses at most the
blocks in flight, and a rerun of the same job computes only the blocks the manifest lacks.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import dask.array as da
import numpy as np
import rioxarray  # noqa: F401  (registers the .rio accessor)
import xarray as xr
import zarr
from affine import Affine

from terrasynth.core.errors import ConfigError
from terrasynth.core.manifest import TileManifest, manifest_path
from terrasynth.core.outputs import atomic_path

FORMAT = "terrasynth-canvas"
_REGION = "canvas"  # the manifest's region key: a canvas is one region
_INPUT_ROWS = 1024  # rows of the low-resolution input copied in one read


@dataclass(frozen=True)
class LevelGrid:
    """One level of a canvas store.

    Attributes:
        name: the group name, e.g. ``"4m"``.
        gsd: metres per pixel.
        shape: (rows, columns) in pixels.
        chunk_rows: rows of a chunk (a block's height).
        channels: bands.
    """

    name: str
    gsd: float
    shape: tuple[int, int]
    chunk_rows: int
    channels: int


class CanvasStore:
    """The Zarr store at ``path`` (e.g. ``canvas.zarr``) and its manifest of finished blocks.

    Args:
        path: the store.
        crs: the canvas' CRS (any form rioxarray takes), or ``None`` when not georeferenced.
        origin_m: ground coordinates (x, y) of the canvas' top-left corner, CRS units.
    """

    def __init__(self, path: str | Path, crs=None, origin_m: tuple[float, float] = (0.0, 0.0)):
        self.path, self.crs, self.origin_m = Path(path), crs, origin_m
        self.manifest = TileManifest(self.path, about="canvas", error=ConfigError)

    def open(self, job: dict, levels: Sequence[LevelGrid], *, overwrite: bool = False) -> bool:
        """Create the store, or resume the one already there; True when resuming.

        Raises :class:`ConfigError` when ``path`` holds another job's store or something else,
        unless ``overwrite`` (which starts over).
        """
        if overwrite:
            self.remove()
        if self.path.exists():
            if not self.manifest.resumes(job):
                raise ConfigError(
                    f"{self.path} exists but is no canvas store of terrasynth generate: pass --overwrite to "
                    "replace it, or write the canvas elsewhere"
                )
            return True
        self.manifest.start(job)  # markers without a store describe nothing
        tree = xr.DataTree.from_dict(
            {"/": xr.Dataset(attrs={"format": FORMAT, "levels": [level.name for level in levels]})}
            | {f"/{level.name}": self._level_template(level) for level in levels}
        )
        with atomic_path(self.path) as partial:
            tree.to_zarr(partial, mode="w", compute=False, consolidated=False)
        return False

    def _level_template(self, level: LevelGrid) -> xr.Dataset:
        rows, cols, channels = *level.shape, level.channels
        chunks = (channels, min(level.chunk_rows, rows), min(level.chunk_rows, cols))
        image = da.zeros((channels, rows, cols), dtype=np.float32, chunks=chunks)
        attrs = {"long_name": "surface reflectance", "units": "1"}
        transform = self.transform(level.gsd)
        ds = xr.Dataset(
            {"image": (("band", "y", "x"), image, attrs)},
            coords={
                "y": ("y", transform.f + (np.arange(rows) + 0.5) * transform.e, {"units": "m", "axis": "Y"}),
                "x": ("x", transform.c + (np.arange(cols) + 0.5) * transform.a, {"units": "m", "axis": "X"}),
            },
            attrs={"level": level.name, "gsd": level.gsd},
        )
        if self.crs is not None:
            ds = ds.rio.write_crs(self.crs)
        return ds.rio.write_transform(transform)

    def transform(self, gsd: float) -> Affine:
        """The north-up transform of a level of ``gsd`` metres per pixel."""
        return Affine(gsd, 0, self.origin_m[0], 0, -gsd, self.origin_m[1])

    def image(self, level: str, mode: str = "r") -> zarr.Array:
        """A level's image, (band, rows, columns) reflectance, sliced like numpy."""
        return zarr.open_array(str(self.path / level / "image"), mode=mode)

    def copy_input(self, level: str, source) -> None:
        """Write the whole low-resolution input (an array-like of reflectance) into ``level``."""
        target = self.image(level, "r+")
        for top in range(0, source.shape[-2], _INPUT_ROWS):
            target[:, top : top + _INPUT_ROWS, :] = np.asarray(source[:, top : top + _INPUT_ROWS, :])

    def finished(self) -> set[tuple[str, int]]:
        """The (level, block index) of every block recorded as written."""
        return {(level, row) for region, level, row, _ in self.manifest.finished() if region == _REGION}

    def mark(self, level: str, block: int) -> None:
        """Record a block as finished; call only once all its rows are written."""
        self.manifest.mark(_REGION, level, block, 0)

    def remove(self) -> None:
        """Delete the store and its manifest."""
        shutil.rmtree(self.path, ignore_errors=True)
        shutil.rmtree(manifest_path(self.path), ignore_errors=True)
