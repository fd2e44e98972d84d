import numpy as np
import pytest
import torch
from rasterio.windows import Window

from terrasynth.core import CorpusError
from terrasynth.datasets import CascadeLevels, CascadePairs, condition_shape, grid_sampler, resample_footprint

KEYS = {"image", "condition", "gsd", "condition_gsd", "landcover", "valid", "crs", "bounds"}


def _centres(query, shape):
    """Map coordinates (metres) of the pixel centres of a ``shape`` grid spanning ``query``."""
    x, y = query[0], query[1]
    rows, cols = shape
    xs = x.start + (np.arange(cols) + 0.5) * (x.stop - x.start) / cols
    ys = y.stop - (np.arange(rows) + 0.5) * (y.stop - y.start) / rows
    return np.meshgrid(xs, ys)


def test_condition_shape():
    assert condition_shape((256, 256), 16.0, 60.0) == (68, 68)  # 4096 m = 68.27 pixels of 60 m
    assert condition_shape((240, 480), 16.0, 60.0) == (64, 128)  # whole 240 m pitches: exact
    assert condition_shape((256, 256), 4.0, 16.0) == (64, 64)
    assert condition_shape((2, 2), 4.0, 60.0) == (1, 1)


def test_resample_footprint_samples_pixel_centres():
    data = torch.arange(6.0).repeat(1, 4, 1)  # value = column index + 0.5 at each centre, minus 0.5
    out = resample_footprint(data, Window(1.25, 0.0, 3.0, 4.0), (1, 2))
    # output centres at columns 1.25 + 0.75 and 1.25 + 2.25: values 2.0 - 0.5 and 3.5 - 0.5
    np.testing.assert_allclose(out[0, 0].numpy(), [1.5, 3.0], atol=1e-6)


@pytest.mark.parametrize(
    ("level", "condition_gsd", "lr_shape"), [("16m", 512 / 9, (9, 9)), ("4m", 16.0, (8, 8))]
)
def test_condition_footprint_matches_the_tile_to_the_pixel(
    corpus, corpus_data, level, condition_gsd, lr_shape
):
    ds = CascadePairs(corpus, level, min_valid_fraction=0.0, tile_size=32)
    left, bottom, right, top = ds.grid.bounds
    lr_gsd = ds.condition_reader.level.gsd
    checked = 0
    for query in grid_sampler(ds, 32):
        sample = ds[query]
        assert set(sample) == KEYS
        assert sample["image"].shape == (4, 32, 32) and sample["condition"].shape == (4, *lr_shape)
        assert sample["gsd"].dtype == sample["condition_gsd"].dtype == torch.float32
        assert float(sample["gsd"]) == float(level[:-1])
        assert float(sample["condition_gsd"]) == pytest.approx(condition_gsd)
        if query[0].stop > right or query[1].start < bottom:
            continue  # tiles reaching past the grid are padded
        # the ramp bands at the condition's pixel centres, which must span the tile's footprint
        expected = corpus_data.ramp_value(*_centres(query, lr_shape))
        error_m = np.abs(sample["condition"][:2].numpy() - expected) / (corpus_data.RAMP_SCALE * 1e-4)
        x0 = (query[0].start - left) / lr_gsd  # condition pixels within half a pixel of the grid
        edge = x0 < 1 or (top - query[1].stop) / lr_gsd < 1  # are extrapolated, not interpolated
        assert error_m.max() < (0.05 * lr_gsd if edge else 0.01), error_m.max()  # metres
        checked += 1
    assert checked >= 6


def test_degraded_mode_leaves_the_condition_to_the_training_loop(corpus):
    ds = CascadePairs(corpus, "16m", condition="degraded", min_valid_fraction=0.0)
    sample = ds[next(iter(grid_sampler(ds, 32)))]
    assert "condition" not in sample and float(sample["condition_gsd"]) == pytest.approx(512 / 9)
    above = CascadePairs(
        corpus, "60m", condition="degraded", condition_level=240, min_valid_fraction=0.0, tile_size=16
    )
    assert float(above[next(iter(grid_sampler(above, 16)))]["condition_gsd"]) == 240.0


def test_level_pairs_are_interleaved_and_the_smaller_repeated():
    coarse, fine = [{"pair": "16m", "i": i} for i in range(2)], [{"pair": "4m", "i": i} for i in range(5)]
    levels = CascadeLevels([coarse, fine])
    assert len(levels) == 10
    assert [(s["pair"], s["i"]) for s in levels] == [
        ("16m", 0), ("4m", 0), ("16m", 1), ("4m", 1), ("16m", 0), ("4m", 2), ("16m", 1), ("4m", 3), ("16m", 0), ("4m", 4),
    ]  # fmt: skip
    with pytest.raises(CorpusError, match="at least one"):
        CascadeLevels([coarse, []])


def test_bad_condition_levels_are_refused(corpus):
    with pytest.raises(CorpusError, match="60m is the coarsest level"):
        CascadePairs(corpus, "60m", min_valid_fraction=0.0)
    with pytest.raises(CorpusError, match="not coarser than 16m"):
        CascadePairs(corpus, "16m", condition_level="4m", min_valid_fraction=0.0)
    with pytest.raises(CorpusError, match="no level '30m'"):
        CascadePairs(corpus, "16m", condition_level="30m", min_valid_fraction=0.0)


def test_both_levels_read_through_the_given_cache(corpus):
    from terrasynth.datasets.chunk_cache import ChunkCache

    cache = ChunkCache()
    pairs = CascadePairs(corpus, "16m", cache=cache)
    pairs[next(iter(grid_sampler(pairs, 32)))]
    assert {key[0].rsplit("/", 2)[-2] for key in cache._chunks} == {"16m", "60m"}
