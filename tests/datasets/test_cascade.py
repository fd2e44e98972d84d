import numpy as np
import pytest

from terrasynth.core import CorpusError
from terrasynth.datasets import CascadeLevels, CascadePairs, condition_shape, grid_sampler
from terrasynth.models.metaearth import resample_onto

KEYS = {"image", "condition", "condition_box", "gsd", "condition_gsd", "landcover", "valid", "crs", "bounds"}


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


@pytest.mark.parametrize(("level", "lr_shape"), [("16m", (18, 18)), ("4m", (17, 17))])
def test_the_condition_and_its_box_place_the_tile_to_the_pixel_as_the_generator_does(
    corpus, corpus_data, level, lr_shape
):
    ds = CascadePairs(corpus, level, min_valid_fraction=0.0, tile_size=32)
    left, bottom, right, top = ds.grid.bounds
    lr_gsd = ds.condition_reader.level.gsd
    checked = 0
    for query in grid_sampler(ds, 32):
        sample = ds[query]
        assert set(sample) == KEYS
        # the footprint (8.53 pixels of 60 m, 8 of 16 m) and 4 more pixels on every side
        assert sample["image"].shape == (4, 32, 32) and sample["condition"].shape == (4, *lr_shape)
        box = sample["condition_box"]
        assert box[2] - box[0] == pytest.approx(32 * float(level[:-1]) / lr_gsd) and 4 <= box[0] < 5
        assert float(sample["gsd"]) == float(level[:-1]) and float(sample["condition_gsd"]) == lr_gsd
        if query[0].stop > right or query[1].start < bottom or query[0].start - left < 5 * lr_gsd:
            continue  # near the grid's edges the condition repeats its edge pixels
        if top - query[1].stop < 5 * lr_gsd:
            continue
        # the ramp bands sampled from the condition at the tile's pixel centres through the box
        # (bilinearly, exact for a ramp) are the ramp at those centres, as the tile's own are
        on_tile = resample_onto(sample["condition"][None, :2], box[None], (32, 32))[0].numpy()
        expected = corpus_data.ramp_value(*_centres(query, (32, 32)))
        error_m = np.abs(on_tile - expected) / (corpus_data.RAMP_SCALE * 1e-4)
        assert error_m.max() < 0.01 * lr_gsd, error_m.max()  # metres
        checked += 1
    assert checked >= 2


def test_training_reads_the_context_the_generator_reads_around_a_window():
    from terrasynth.models.metaearth import unbounded

    assert CascadePairs.__init__.__kwdefaults__["margin"] == unbounded._CONDITION_MARGIN


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
