"""Is every tile of a corpus on disk, and does it decode?

A tile of a level is one chunk of each of its variables (``image``, ``landcover``, ``valid``; see
:mod:`terrasynth.core.corpus`). The writer stores every chunk of a tile it finishes, even one that
holds only the fill value, so a chunk file that is missing is damage: Zarr would read it as zeros
without a word. :func:`find_bad_tiles` finds such tiles, cheaply (a directory listing per array)
or thoroughly (every chunk read and decoded as well); :func:`damaged_chunk` is the one-line error
a reader raises for a chunk that does not decode.
"""

from __future__ import annotations

import asyncio
import itertools
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import zarr
from zarr.core.sync import sync

from terrasynth.core.corpus import VARIABLES
from terrasynth.core.errors import CorpusError

DECODE_BATCH = 256
"""Chunks read concurrently while decoding."""

TileKey = tuple[str, str, int, int]
"""(region, level, tile row, tile column): a tile, as the ingest manifest names it."""


@dataclass(frozen=True)
class BadTile:
    """One variable of one tile that is missing or does not decode.

    Attributes:
        region, level: the group, e.g. ``r00_utm32n`` and ``16m``.
        variable: ``image``, ``landcover`` or ``valid``.
        row, col: the tile's index in the level's tile grid (pixel offset // tile size).
        problem: ``"missing"`` or why it does not decode.
    """

    region: str
    level: str
    variable: str
    row: int
    col: int
    problem: str

    @property
    def key(self) -> TileKey:
        return (self.region, self.level, self.row, self.col)

    def __str__(self) -> str:
        return (
            f"{self.region}/{self.level} {self.variable} tile row {self.row} col {self.col}: {self.problem}"
        )


def find_bad_tiles(
    path: str | Path, tiles: Iterable[TileKey] | None = None, *, decode: bool = True
) -> list[BadTile]:
    """The tiles of the corpus at ``path`` whose chunks are missing or (with ``decode``) do not decode.

    Args:
        path: the corpus store.
        tiles: the tiles to check (default: every tile of every level in the store). A tile of a
            level group the store lacks is reported missing.
        decode: read and decode every present chunk too (reads the whole corpus); without it only
            the directory listings are read.

    Returns the bad tiles, by region, level, variable, row and column.
    """
    root = zarr.open_group(str(path), mode="r")
    wanted: dict[tuple[str, str], set[tuple[int, int]] | None] = {}
    if tiles is None:
        for region, group in root.groups():
            for level, _ in group.groups():
                wanted[(region, level)] = None
    else:
        listed: dict[tuple[str, str], set[tuple[int, int]]] = {}
        for region, level, row, col in tiles:
            listed.setdefault((region, level), set()).add((row, col))
        wanted.update(listed)
    bad = []
    for (region, level), indices in sorted(wanted.items()):
        for variable in VARIABLES:
            name = f"{region}/{level}/{variable}"
            array = root.get(name)
            if not isinstance(array, zarr.Array):  # absent, or a group in its place
                bad += [
                    BadTile(region, level, variable, *index, "missing") for index in sorted(indices or ())
                ]
                continue
            rows, cols = array.cdata_shape[-2:]
            grid = itertools.product(range(rows), range(cols))
            for (row, col), problem in _chunk_problems(path, array, sorted(indices or grid), decode):
                bad.append(BadTile(region, level, variable, row, col, problem))
    return bad


def damaged_chunk(array: zarr.Array, coords: tuple[int, ...], error: BaseException) -> CorpusError:
    """The error for a chunk of a corpus array that does not decode: the store, the chunk, what to do."""
    store = _store_root(array)
    reason = str(error).strip() or type(error).__name__
    return CorpusError(
        f"{store}/{array.path} chunk {array.metadata.encode_chunk_key(coords)} does not decode ({reason}): the "
        f"corpus is damaged; run `terrasynth check {store}` and rerun the same `terrasynth ingest` to refetch it"
    )


def _chunk_problems(path, array: zarr.Array, indices: list[tuple[int, int]], decode: bool):
    """(tile index, problem) of every tile of ``indices`` whose chunks of ``array`` are missing or
    do not decode; a tile's chunks are every chunk along the leading axes (the bands)."""
    stored = _stored_keys(Path(path, array.path))
    leading = list(itertools.product(*(range(n) for n in array.cdata_shape[:-2])))
    present = []
    for index in indices:
        coords = [(*lead, *index) for lead in leading]
        if all(array.metadata.encode_chunk_key(c) in stored for c in coords):
            present += [(index, c) for c in coords]
        else:
            yield index, "missing"
    if decode:
        reported = set()
        for start in range(0, len(present), DECODE_BATCH):
            batch = present[start : start + DECODE_BATCH]
            errors = sync(_decode_errors(array, [coords for _, coords in batch]))
            for (index, _), error in zip(batch, errors, strict=True):
                if error is not None and index not in reported:
                    reported.add(index)
                    yield index, f"does not decode ({str(error).strip() or type(error).__name__})"


def _stored_keys(directory: Path) -> set[str]:
    """The chunk keys stored under an array's directory (paths relative to it, '/'-separated)."""
    keys: set[str] = set()
    for folder, _, files in os.walk(directory):
        relative = Path(folder).relative_to(directory).as_posix()
        keys.update(name if relative == "." else f"{relative}/{name}" for name in files)
    return keys


async def _decode_errors(array: zarr.Array, chunks: list[tuple[int, ...]]) -> list[BaseException | None]:
    async def read(coords):
        selection = tuple(slice(i * n, (i + 1) * n) for i, n in zip(coords, array.chunks, strict=True))
        try:
            await array.async_array.getitem(selection)
        except Exception as error:
            return error
        return None

    return list(await asyncio.gather(*(read(coords) for coords in chunks)))


def _store_root(array: zarr.Array) -> str:
    store = array.store_path.store
    return str(getattr(store, "root", store))
