"""The corpus writer: a Zarr template, filled tile by tile, resumable, marked complete only when full.

For each region and level, :func:`terrasynth.core.corpus_template` is written once with
``to_zarr(compute=False)`` (under a temporary name, then renamed); each tile is one chunk of each
array, read from the source and written into the level's Zarr arrays, then recorded in the
:class:`~terrasynth.core.manifest.TileManifest`. A rerun with the same settings writes only the
tiles the manifest lacks, and those it records whose chunks are missing or do not decode (a
damaged disk, a lost level group): they are dropped from the manifest and written again.
:meth:`CorpusWriter.finish` checks that every tile is in, writes the STAC collection beside the
corpus and only then marks it complete.

Tiles are written by whatever runs them (a thread, a Dask worker), so the output path must be
reachable from every worker: a local disk for a local cluster, shared storage for a remote one.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import shutil
import time
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Executor, Future, wait
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import xarray as xr
import zarr

from terrasynth.core.aoi import AreaOfInterest
from terrasynth.core.corpus import (
    FORMAT_VERSION,
    VARIABLES,
    corpus_template,
    level_template,
    mark_complete,
    mark_incomplete,
)
from terrasynth.core.corpus_check import find_bad_tiles
from terrasynth.core.errors import CorpusError, SourceError
from terrasynth.core.levels import Level, parse_levels
from terrasynth.core.manifest import TileManifest, manifest_path
from terrasynth.core.outputs import atomic_path
from terrasynth.core.stac import write_stac_collection
from terrasynth.ingest.dates import DateRange
from terrasynth.ingest.plan import check_tile_size
from terrasynth.ingest.source import Source
from terrasynth.ingest.tiles import CorpusTiles, PendingTiles, Tile, level_grids

MAX_IN_FLIGHT = 256
"""Tiles submitted and not yet finished, at most, by default (see :func:`write_tiles`)."""


@dataclass(frozen=True)
class TileResult:
    """What writing one tile took.

    Attributes:
        tile: the tile.
        requests: service requests made (retries included).
        retries: requests that were retries after a transient failure.
        bytes: uncompressed bytes written.
        seconds: wall time, reading and writing.
        no_data: why the source had no data for the tile (written all not valid), or ``None``.
    """

    tile: Tile
    requests: int
    retries: int
    bytes: int
    seconds: float
    no_data: str | None = None


class CorpusWriter:
    """Builds the corpus at ``path`` over ``aoi`` from ``source``.

    Args:
        path: the Zarr store to write (e.g. ``corpus.zarr``); the manifest and the STAC collection
            go beside it (``corpus.zarr.manifest/``, ``corpus.zarr.stac/``).
        aoi: the area to cover.
        levels: the resolution ladder, e.g. ``"60,16,4"``.
        source: where the pixels come from.
        tile_size: tile (and chunk) edge in pixels.
        dates: the date range the data stands for, for the STAC collection (optional).
    """

    def __init__(
        self,
        path: str | Path,
        aoi: AreaOfInterest,
        levels: str | Iterable[Level],
        source: Source,
        *,
        tile_size: int = 256,
        dates: DateRange | None = None,
    ):
        check_tile_size(tile_size)
        self.path = Path(path)
        self.aoi = aoi
        self.levels = parse_levels(levels)
        self.source = source
        self.tile_size = tile_size
        self.dates = dates
        self.regions = {region.name: region for region in aoi.regions()}
        self.grids = level_grids(list(self.regions.values()), self.levels)
        self.manifest = TileManifest(self.path)
        self._opened: dict[tuple[str, str], dict[str, zarr.Array]] = {}

    @property
    def stac_path(self) -> Path:
        """The directory of the corpus' STAC collection."""
        return self.path.with_name(self.path.name + ".stac")

    def tiles(self) -> CorpusTiles:
        """Every tile of the corpus, coarse levels first (computed as iterated, never listed)."""
        return CorpusTiles(self.grids, self.tile_size)

    def pending(self) -> PendingTiles:
        """The tiles the manifest does not hold yet, coarse levels first."""
        return PendingTiles(
            [
                (level, self.manifest.done(level.region, level.level, level.shape))
                for level in self.tiles().levels
            ]
        )

    def job(self) -> dict:
        """What the corpus is built from: a rerun resumes only when this is unchanged."""
        return {
            "format_version": FORMAT_VERSION,
            "aoi": self.aoi.to_geojson(),
            "levels": [level.name for level in self.levels],
            "tile_size": self.tile_size,
            "bands": {level.name: self.source.bands(level) for level in self.levels},
            "classes": self.source.classes.scheme,
            "source": self.source.describe(),
        }

    def open(self, *, overwrite: bool = False) -> PendingTiles:
        """Create the template, or resume the corpus already there; returns the tiles still to write.

        Resuming checks every finished tile (its chunks present and decoding: the corpus is read
        once) and writes the damaged ones again, marking the corpus incomplete until they are.

        Raises :class:`CorpusError` when ``path`` holds something else (another job's corpus, or a
        store this writer did not make) and ``overwrite`` is False, and :class:`SourceError` when
        the source has no data over the area (before anything is removed or written).
        """
        self.source.check_area(self.aoi)
        self._opened.clear()  # a template written below replaces its arrays
        if overwrite:
            self.remove()
        if self.path.exists():
            if not self.manifest.resumes(self.job()):
                raise CorpusError(
                    f"{self.path} exists but has no ingest manifest beside it: pass --overwrite to replace "
                    "it, or choose another --out"
                )
            self._forget_damaged_tiles()
            return self.pending()
        self.manifest.start(self.job())  # records without a store describe nothing
        self._write_template()
        return self.pending()

    def _forget_damaged_tiles(self) -> None:
        """Drop the finished tiles whose chunks are missing or do not decode from the manifest, and
        restore the templates of lost level groups, so that those tiles are written again. Checks
        one level at a time, so what is held is one level's finished tiles."""
        for level in self.tiles().levels:
            done = self.manifest.done(level.region, level.level, level.shape)
            finished = ((level.region, level.level, int(row), int(col)) for row, col in np.argwhere(done))
            damaged = {(bad.row, bad.col) for bad in find_bad_tiles(self.path, finished)}
            if not damaged:
                continue
            mark_incomplete(self.path)
            if not (self.path / level.region / level.level / "zarr.json").is_file():  # the group is gone
                self._write_level_template(level.region, Level.parse(level.level))
            self.manifest.forget(level.region, level.level, damaged)

    def _write_level_template(self, region: str, level: Level) -> None:
        template = level_template(
            self.grids[(region, level.name)],
            level,
            self.source.bands(level),
            self.tile_size,
            self.source.classes,
            self.source.image_attrs(level),
        )
        template.to_zarr(
            self.path, group=f"{region}/{level.name}", mode="w", compute=False, consolidated=False
        )

    def _write_template(self) -> None:
        tree = corpus_template(
            self.aoi,
            list(self.regions.values()),
            self.levels,
            {level.name: self.source.bands(level) for level in self.levels},
            source=self.source.describe(),
            tile_size=self.tile_size,
            classes=self.source.classes,
            image_attrs={level.name: self.source.image_attrs(level) for level in self.levels},
        )
        with atomic_path(self.path) as partial:
            tree.to_zarr(partial, mode="w", compute=False, consolidated=False)

    def remove(self) -> None:
        """Delete the corpus, its manifest and its STAC collection."""
        for path in (self.path, manifest_path(self.path), self.stac_path):
            if path.is_dir():
                shutil.rmtree(path)
            elif path.exists():
                path.unlink()

    def write_tile(self, tile: Tile, limiter: contextlib.AbstractContextManager | None = None) -> TileResult:
        """Read ``tile`` from the source (inside ``limiter``, which caps concurrent reads), write it, mark it.

        Pixels outside the area of interest are stored as not valid.
        """
        started = time.perf_counter()
        grid = self.grids[(tile.region, tile.level)].subgrid(tile.window)
        level = Level.parse(tile.level)
        try:
            with limiter or contextlib.nullcontext():
                ds = self.source.read(grid, level)
        except SourceError as error:
            raise SourceError(f"{tile}: {error}") from None
        image, landcover, valid = _checked(ds, grid, self.source.bands(level), tile, self.source.name)
        valid &= self.regions[tile.region].inside(grid)
        w = tile.window
        rows, cols = slice(w.row_off, w.row_off + w.height), slice(w.col_off, w.col_off + w.width)
        arrays = self._arrays(tile.region, tile.level)
        arrays["image"][:, rows, cols] = image
        arrays["landcover"][rows, cols] = landcover
        arrays["valid"][rows, cols] = valid
        no_data = ds.attrs.get("no_data") or None
        self.manifest.mark(*tile.key, no_data=no_data)
        nbytes = image.nbytes + landcover.nbytes + valid.nbytes
        return TileResult(
            tile,
            int(ds.attrs.get("requests", 0)),
            int(ds.attrs.get("retries", 0)),
            nbytes,
            time.perf_counter() - started,
            no_data,
        )

    def _arrays(self, region: str, level: str) -> dict[str, zarr.Array]:
        """The Zarr arrays of a level, opened once per process (tile after tile, only chunks are
        written: the template holds every array's metadata). Every chunk written is stored, even
        one of fill values (see :mod:`terrasynth.core.corpus`)."""
        key = (region, level)
        if key not in self._opened:
            self._opened[key] = {
                name: zarr.open_array(str(self.path), path=f"{region}/{level}/{name}", mode="r+").with_config(
                    {"write_empty_chunks": True}
                )
                for name in VARIABLES
            }
        return self._opened[key]

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_opened": {}}  # open arrays stay in their process

    def no_data(self) -> dict[str, dict[str, int]]:
        """Per level name, how many finished tiles had no data, per reason (levels without any omitted)."""
        counts: dict[str, Counter[str]] = {}
        for level in self.tiles().levels:
            counts.setdefault(level.level, Counter()).update(
                self.manifest.no_data_counts(level.region, level.level)
            )
        return {level: dict(sorted(by_reason.items())) for level, by_reason in counts.items() if by_reason}

    def finish(self) -> Path:
        """Write the STAC collection and mark the corpus complete, once every tile is in.

        Returns the STAC collection file. Raises :class:`CorpusError` naming a missing tile otherwise.
        """
        missing = self.pending()
        if len(missing):
            raise CorpusError(
                f"{self.path} lacks {len(missing)} tile(s), e.g. {next(iter(missing))}: rerun the ingest to "
                "finish it"
            )
        west, south, east, north = self.aoi.geometry.bounds
        stac = write_stac_collection(
            self.stac_path,
            id=self.path.stem,
            description=f"terrasynth corpus from the {self.source.name} source at {', '.join(map(str, self.levels))}.",
            bbox=(west, south, east, north),
            start=_datetime(self.dates.start) if self.dates else None,
            end=_datetime(self.dates.end) - dt.timedelta(seconds=1) if self.dates else None,  # end excluded
            assets={"corpus": (f"../{self.path.name}", "application/vnd+zarr", "corpus (Zarr DataTree)")},
            properties={
                "levels": [level.name for level in self.levels],
                "regions": sorted(self.regions),
                "tile_size": self.tile_size,
                "source": self.source.describe(),
                "image": {level.name: self.source.image_attrs(level) for level in self.levels},
                "no_data_tiles": self.no_data(),
            },
        )
        mark_complete(self.path)
        return stac


def write_tile(writer: CorpusWriter, tile: Tile, limiter=None) -> TileResult:
    """:meth:`CorpusWriter.write_tile` as a plain function, for executors that ship it to workers."""
    return writer.write_tile(tile, limiter)


def write_tiles(
    writer: CorpusWriter | object,
    tiles: Iterable[Tile],
    executor: Executor,
    *,
    limiter=None,
    on_result: Callable[[TileResult], None] | None = None,
    max_in_flight: int = MAX_IN_FLIGHT,
) -> int:
    """Write ``tiles`` on ``executor`` (threads, or a Dask client's executor), reporting each as it
    lands; returns how many were written.

    Tiles are taken from ``tiles`` as the executor frees up: at most ``max_in_flight`` are submitted
    and not yet finished at any time, so neither the executor (a Dask scheduler's task graph) nor
    this process holds more, however many tiles there are. ``writer`` is a :class:`CorpusWriter`, or
    a handle to one already on the workers (a Dask future from ``client.scatter``). The first
    failure cancels the tiles not yet started and is raised; tiles already written stay in the
    manifest.
    """
    if max_in_flight < 1:
        raise ValueError(f"max_in_flight must be at least 1, got {max_in_flight}")
    remaining = iter(tiles)
    # in the order submitted: of tiles found finished together, the first tile's failure is raised
    in_flight: dict[Future, None] = {}
    written = 0
    task: Callable[..., TileResult] = write_tile  # its writer may be a Dask future, resolved on the worker
    try:
        while True:
            for tile in itertools.islice(remaining, max_in_flight - len(in_flight)):
                in_flight[executor.submit(task, writer, tile, limiter)] = None
            if not in_flight:
                return written
            finished, _ = wait(in_flight, return_when=FIRST_COMPLETED)
            for future in [future for future in in_flight if future in finished]:
                del in_flight[future]
                result = future.result()
                written += 1
                if on_result is not None:
                    on_result(result)
    except BaseException:
        for future in in_flight:
            future.cancel()
        raise


def _checked(ds: xr.Dataset, grid, bands: list[str], tile: Tile, source: str):
    """The tile's arrays, after checking that the source kept the contract of ``Source.read``."""
    expected = {
        "image": ((len(bands), *grid.shape), np.uint16),
        "landcover": (grid.shape, np.uint8),
        "valid": (grid.shape, np.bool_),
    }
    arrays = []
    for name, (shape, dtype) in expected.items():
        if name not in ds:
            raise SourceError(f"{tile}: the {source} source returned no {name!r}")
        array = ds[name].values
        if array.shape != shape or array.dtype != dtype:
            raise SourceError(
                f"{tile}: the {source} source returned {name} as {array.dtype} {array.shape}, "
                f"expected {np.dtype(dtype)} {shape}"
            )
        arrays.append(array)
    x, y = grid.coords()
    for axis, centres in (("x", x), ("y", y)):
        if axis in ds.coords and not np.allclose(
            ds[axis].values, centres, rtol=0.0, atol=1e-6 * grid.resolution
        ):
            raise SourceError(
                f"{tile}: the {source} source returned {axis} coordinates off the tile's pixel centres"
            )
    if "band" in ds.coords and [str(b) for b in ds["band"].values] != list(bands):
        raise SourceError(
            f"{tile}: the {source} source returned bands {list(ds['band'].values)}, expected {bands}"
        )
    return arrays[0], arrays[1], arrays[2].copy()


def _datetime(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)
