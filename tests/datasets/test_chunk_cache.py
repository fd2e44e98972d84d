import pickle

import numpy as np
import pytest
import zarr

from terrasynth.datasets.chunk_cache import ChunkCache


@pytest.fixture
def arrays(tmp_path):
    """An image (3 bands) and a mask, 50 x 70 pixels in 16-pixel chunks: the last chunks are short."""
    group = zarr.open_group(str(tmp_path / "a.zarr"), mode="w")
    rng = np.random.default_rng(0)
    image = group.create_array("image", shape=(3, 50, 70), chunks=(3, 16, 16), dtype="uint16")
    image[:] = rng.integers(0, 10_000, (3, 50, 70))
    mask = group.create_array("mask", shape=(50, 70), chunks=(16, 16), dtype="bool")
    mask[:] = rng.random((50, 70)) > 0.5
    return {"image": image, "mask": mask}


def test_windows_equal_plain_zarr_reads_anywhere(arrays):
    cache = ChunkCache()
    rng = np.random.default_rng(1)
    for _ in range(30):
        r0, c0 = rng.integers(0, 49), rng.integers(0, 69)
        rows, cols = slice(r0, rng.integers(r0 + 1, 51)), slice(c0, rng.integers(c0 + 1, 71))
        read = cache.read(arrays, rows, cols)
        np.testing.assert_array_equal(read["image"], arrays["image"][:, rows, cols])
        np.testing.assert_array_equal(read["mask"], arrays["mask"][rows, cols])
    whole = cache.read(arrays, slice(0, 50), slice(0, 70))
    np.testing.assert_array_equal(whole["image"], arrays["image"][:])
    assert len(cache) == 2 * 4 * 5  # every chunk of both arrays, each kept once


def test_a_cached_chunk_is_not_read_again_and_an_empty_cache_reads_every_time(arrays):
    window = (slice(20, 40), slice(5, 30))
    cached, uncached = ChunkCache(), ChunkCache(0)
    before = cached.read(arrays, *window)["mask"]
    uncached.read(arrays, *window)
    arrays["mask"][:] = ~arrays["mask"][:]  # the store changes under the caches
    np.testing.assert_array_equal(cached.read(arrays, *window)["mask"], before)
    np.testing.assert_array_equal(uncached.read(arrays, *window)["mask"], ~before)
    assert len(uncached) == 0 and uncached.bytes == 0


def test_the_least_recently_used_chunks_go_first(arrays):
    chunk = 16 * 16  # bytes of a boolean chunk
    cache = ChunkCache(2 * chunk)
    mask = {"mask": arrays["mask"]}
    first_row = [slice(0, 16), slice(16, 32), slice(32, 48)]
    for cols in (first_row[0], first_row[1], first_row[0], first_row[2]):  # chunks 0, 1, 0 again, 2
        cache.read(mask, slice(0, 16), cols)
    assert len(cache) == 2 and cache.bytes == 2 * chunk
    before = arrays["mask"][:]
    arrays["mask"][:] = ~before
    # chunk 1 was used longest ago: it alone is read again, so it alone shows the new values
    # (checked last, as its read evicts another chunk)
    checks = [first_row[2], first_row[0], first_row[1]]
    kept = [
        np.array_equal(cache.read(mask, slice(0, 16), cols)["mask"], before[:16, cols]) for cols in checks
    ]
    assert kept == [True, True, False]


def test_forgetting_a_store_drops_its_chunks_only(arrays):
    cache = ChunkCache()
    cache.read(arrays, slice(0, 16), slice(0, 16))
    cache.forget(str(arrays["image"].store_path))
    assert len(cache) == 1 and cache.bytes == 16 * 16  # the mask's chunk
    cache.forget(str(arrays["mask"].store_path).rsplit("/", 1)[0])  # the whole store
    assert len(cache) == 0 and cache.bytes == 0


def test_a_pickled_cache_arrives_empty_and_bad_sizes_are_refused(arrays):
    cache = ChunkCache(1000)
    cache.read({"mask": arrays["mask"]}, slice(0, 16), slice(0, 16))
    copy = pickle.loads(pickle.dumps(cache))
    assert copy.max_bytes == 1000 and len(copy) == 0 and len(cache) == 1
    with pytest.raises(ValueError, match="max_bytes >= 0"):
        ChunkCache(-1)


def test_in_another_process_a_cache_starts_empty(arrays, monkeypatch):
    from terrasynth.datasets import chunk_cache

    cache = ChunkCache()
    cache.read(arrays, slice(0, 16), slice(0, 16))
    monkeypatch.setattr(chunk_cache.os, "getpid", lambda: -1)  # as in a forked DataLoader worker
    cache.read({"mask": arrays["mask"]}, slice(0, 16), slice(16, 32))
    assert len(cache) == 1 and cache.bytes == 16 * 16  # only what this "process" read


def test_a_chunk_that_does_not_decode_is_one_line_naming_it(arrays, tmp_path):
    from terrasynth.core import CorpusError

    chunk = tmp_path / "a.zarr" / "image" / "c" / "0" / "1" / "2"
    chunk.write_bytes(chunk.read_bytes()[:10])
    cache = ChunkCache()
    with pytest.raises(
        CorpusError, match=r"a\.zarr/image chunk c/0/1/2 does not decode \(.*\): the corpus is damaged"
    ):
        cache.read(arrays, slice(0, 50), slice(0, 70))
