"""Window reads from Zarr arrays through a per-process cache of decoded chunks.

Written here because zarr-python 3 keeps no decoded chunks: its ``CacheStore`` holds encoded
bytes, which the OS page cache already holds for local files, so every read decodes its chunks
again and pays zarr's asynchronous hand-overs (a few milliseconds a read on two cores). Training
samples windows over the same regions epoch after epoch, so a window is mostly made of chunks
read before, as GDAL's block cache spares torchgeo's ``RasterDataset`` its re-reads.

A chunk that does not decode (a truncated file) raises a one-line
:class:`~terrasynth.core.errors.CorpusError` naming the store and the chunk.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections import OrderedDict
from collections.abc import Iterator, Mapping

import numpy as np
import zarr
from zarr.core.sync import sync

from terrasynth.core.corpus_check import damaged_chunk

DEFAULT_CACHE_BYTES = 256 * 2**20
"""Decoded chunks the process-wide cache keeps (each DataLoader worker has its own)."""


class ChunkCache:
    """Decoded chunks of Zarr arrays, least recently used evicted beyond ``max_bytes`` (0: none kept).

    Chunks are keyed by their array's store path, so one cache can serve many arrays and stores
    (open stores by one spelling of their path, e.g. resolved). Safe to share between threads. In
    another process (a forked or spawned DataLoader worker) a cache starts empty: each process fills
    its own.
    """

    def __init__(self, max_bytes: int = DEFAULT_CACHE_BYTES):
        if max_bytes < 0:
            raise ValueError(f"a chunk cache holds max_bytes >= 0, got {max_bytes}")
        self.max_bytes = int(max_bytes)
        self.bytes = 0
        self._chunks: OrderedDict[tuple[str, int, int], np.ndarray] = OrderedDict()  # (store path, i, j)
        self._lock = threading.Lock()
        self._pid = os.getpid()

    def __getstate__(self) -> dict:
        return {"max_bytes": self.max_bytes}

    def __setstate__(self, state: dict) -> None:
        ChunkCache.__init__(self, state["max_bytes"])

    def __len__(self) -> int:
        return len(self._chunks)

    def _in_this_process(self) -> None:
        """Start empty in a forked worker (its copy of the lock may have been held at the fork)."""
        if self._pid != os.getpid():
            ChunkCache.__init__(self, self.max_bytes)

    def read(self, arrays: Mapping[str, zarr.Array], rows: slice, cols: slice) -> dict[str, np.ndarray]:
        """The windows ``[..., rows, cols]`` of ``arrays`` (steps of 1, inside the arrays), keyed as
        ``arrays``; chunks not in the cache are read in one concurrent zarr call."""
        self._in_this_process()
        wanted = {
            (str(array.store_path), i, j): array
            for array in arrays.values()
            for i, j in _chunk_indices(array.chunks[-2:], rows, cols)
        }
        with self._lock:
            found = {key: self._chunks[key] for key in wanted if key in self._chunks}
            for key in found:
                self._chunks.move_to_end(key)
        missing = [key for key in wanted if key not in found]
        if missing:
            reads = [wanted[key].async_array.getitem(_chunk_slices(wanted[key], *key[1:])) for key in missing]
            fresh = {}
            for key, chunk in zip(missing, sync(_gather(reads)), strict=True):
                if isinstance(chunk, BaseException):
                    array = wanted[key]
                    if isinstance(chunk, OSError) or not isinstance(chunk, Exception):
                        raise chunk
                    raise damaged_chunk(array, (0,) * (array.ndim - 2) + key[1:], chunk) from None
                fresh[key] = chunk
            found |= fresh
            with self._lock:
                for key, chunk in fresh.items():
                    self._keep(key, chunk)
        return {name: _assemble(array, rows, cols, found) for name, array in arrays.items()}

    def forget(self, prefix: str) -> None:
        """Drop the chunks of the arrays whose store path starts with ``prefix`` (e.g. a store
        about to be read afresh, which may have been rewritten since)."""
        self._in_this_process()
        with self._lock:
            for key in [key for key in self._chunks if key[0].startswith(prefix)]:
                self.bytes -= self._chunks.pop(key).nbytes

    def _keep(self, key: tuple[str, int, int], chunk: np.ndarray) -> None:
        if chunk.nbytes > self.max_bytes or key in self._chunks:  # too large, or another thread's
            return
        self._chunks[key] = chunk
        self.bytes += chunk.nbytes
        while self.bytes > self.max_bytes:
            _, evicted = self._chunks.popitem(last=False)
            self.bytes -= evicted.nbytes


def _chunk_indices(chunk_shape: tuple[int, ...], rows: slice, cols: slice) -> Iterator[tuple[int, int]]:
    (height, width) = chunk_shape
    for i in range(rows.start // height, (rows.stop - 1) // height + 1):
        for j in range(cols.start // width, (cols.stop - 1) // width + 1):
            yield i, j


def _chunk_slices(array: zarr.Array, i: int, j: int) -> tuple[slice, ...]:
    height, width = array.chunks[-2:]
    lead = (slice(None),) * (array.ndim - 2)
    return (*lead, slice(i * height, (i + 1) * height), slice(j * width, (j + 1) * width))


def _assemble(array: zarr.Array, rows: slice, cols: slice, chunks: dict) -> np.ndarray:
    """The window of ``array`` copied out of its chunks (the last chunks of a grid may be short)."""
    height, width = array.chunks[-2:]
    path = str(array.store_path)
    window = np.empty((*array.shape[:-2], rows.stop - rows.start, cols.stop - cols.start), array.dtype)
    for i, j in _chunk_indices((height, width), rows, cols):
        top, bottom = max(rows.start, i * height), min(rows.stop, (i + 1) * height)
        left, right = max(cols.start, j * width), min(cols.stop, (j + 1) * width)
        window[..., top - rows.start : bottom - rows.start, left - cols.start : right - cols.start] = chunks[
            (path, i, j)
        ][..., top - i * height : bottom - i * height, left - j * width : right - j * width]
    return window


_SHARED = ChunkCache(DEFAULT_CACHE_BYTES)


def shared_cache() -> ChunkCache:
    """This process' cache (:data:`DEFAULT_CACHE_BYTES`), shared by every corpus reader in it."""
    return _SHARED


async def _gather(reads) -> list[np.ndarray | BaseException]:
    return list(await asyncio.gather(*reads, return_exceptions=True))
