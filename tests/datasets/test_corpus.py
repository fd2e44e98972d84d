import numpy as np
import pytest
import shapely
import torch

from terrasynth.core import CorpusError, GridError, open_corpus
from terrasynth.datasets import CorpusDataset, grid_sampler, random_sampler
from terrasynth.datasets.level_reader import LevelReader


def _brute_force_fractions(corpus, level, size):
    valid = open_corpus(corpus)[f"r00_utm32n/{level}"].valid.values
    rows, cols = valid.shape
    padded = np.zeros((-(-rows // size) * size, -(-cols // size) * size), bool)
    padded[:rows, :cols] = valid
    return padded.reshape(padded.shape[0] // size, size, -1, size).mean(axis=(1, 3))


def test_sample_keys_dtypes_and_values(corpus, corpus_data):
    ds = CorpusDataset(corpus, "16m", min_valid_fraction=0.0)
    assert str(ds.crs) == "EPSG:32632" and ds.res == (16.0, 16.0)
    (query,) = list(grid_sampler(ds, 32))[:1]
    sample = ds[query]
    assert sample["image"].dtype == torch.float32 and sample["image"].shape == (4, 32, 32)
    assert sample["landcover"].dtype == torch.int64 and sample["valid"].dtype == torch.bool
    assert sample["bounds"] == query and sample["crs"] == ds.crs
    # the ramp bands hold known reflectance at the pixel centres of the query
    xs = query[0].start + (np.arange(32) + 0.5) * 16
    ys = query[1].stop - (np.arange(32) + 0.5) * 16
    expected = corpus_data.ramp_value(*np.meshgrid(xs, ys))
    np.testing.assert_allclose(sample["image"][:2].numpy(), expected, atol=1e-6)
    assert set(np.unique(sample["landcover"].numpy())) <= {0, *corpus_data.CODES.tolist()}


@pytest.mark.parametrize("threshold", [0.0, 0.5])
def test_grid_sampler_visits_every_tile_once(corpus, threshold):
    ds = CorpusDataset(corpus, "16m", min_valid_fraction=threshold)
    queries = list(grid_sampler(ds, 32))
    visited = [(q[0].start, q[1].start, q[0].stop, q[1].stop) for q in queries]
    tiles = [tuple(g.bounds) for g in ds.index.geometry]
    assert len(visited) == len(set(visited)) == len(tiles)
    assert set(visited) == set(tiles)
    if threshold == 0.0:  # every tile of the 105 x 75 pixel grid: 4 x 3 tiles of 32 pixels
        assert len(tiles) == 12


def test_threshold_skips_tiles_with_too_little_valid_data(corpus):
    fractions = _brute_force_fractions(corpus, "16m", 32)
    ds = CorpusDataset(corpus, "16m", min_valid_fraction=0.5)
    kept = {(r // 32, c // 32) for r, c in zip(ds.index["row"], ds.index["col"], strict=True)}
    assert kept == {tuple(rc) for rc in np.argwhere(fractions >= 0.5)}
    assert 0 < len(kept) < fractions.size
    np.testing.assert_allclose(sorted(ds.index["valid_fraction"]), sorted(fractions[fractions >= 0.5]))
    assert ds.valid_area == pytest.approx(fractions[fractions >= 0.5].sum() * (32 * 16) ** 2)
    with pytest.raises(CorpusError, match=r"no 32-pixel tile has a valid fraction of at least 1\.0"):
        CorpusDataset(corpus, "16m", min_valid_fraction=1.0)


def test_edge_tiles_read_as_no_data_outside_the_grid(corpus):
    ds = CorpusDataset(corpus, "16m", min_valid_fraction=0.0)
    corner = ds.index[(ds.index["row"] == 64) & (ds.index["col"] == 96)].geometry.iloc[0]
    left, bottom, right, top = corner.bounds
    sample = ds[left:right, bottom:top]
    assert sample["image"].shape == (4, 32, 32)  # 75 x 105 grid: 11 rows and 9 columns inside
    assert not sample["valid"][11:].any() and not sample["valid"][:, 9:].any()
    assert (sample["image"][:, 11:] == 0).all() and (sample["landcover"][:, 9:] == 0).all()


def test_random_sampler_stays_in_the_region_of_interest(corpus):
    ds = CorpusDataset(corpus, "16m", min_valid_fraction=0.0)
    left, bottom, _, _ = ds.grid.bounds
    roi = shapely.box(left, bottom, left + 1024, bottom + 1024)
    queries = list(random_sampler(ds, 8, length=20, roi=roi, seed=0))
    assert len(queries) == 20
    for x, y, *_ in queries:
        assert roi.buffer(1e-6).contains(shapely.box(x.start, y.start, x.stop, y.stop))
        assert ds[x, y]["image"].shape == (4, 8, 8)


def test_bad_queries_and_names_are_refused(corpus):
    ds = CorpusDataset(corpus, "16m", min_valid_fraction=0.0)
    left, bottom, right, _top = ds.grid.bounds
    assert ds[left : left + 512]["image"].shape == (4, 96, 32)  # y from the index bounds: 3 tiles
    with pytest.raises(IndexError, match="does not overlap"):
        ds[right + 100 : right + 612, bottom : bottom + 512]
    with pytest.raises(GridError, match=r"differs from the 16m level's 16\.0 m pixels"):
        ds[left : left + 512 : 4.0, bottom : bottom + 512 : 4.0]
    with pytest.raises(CorpusError, match="no level '10m'"):
        CorpusDataset(corpus, "10m")
    with pytest.raises(CorpusError, match="no region 'r07_utm33n'"):
        CorpusDataset(corpus, "16m", "r07_utm33n")


def test_two_regions_must_be_named(two_region_corpus):
    with pytest.raises(CorpusError, match="name the one to read"):
        LevelReader(two_region_corpus, "16m")


def test_a_reader_opened_after_the_store_changed_reads_the_new_values(corpus, tmp_path):
    import shutil

    import zarr

    copy = shutil.copytree(corpus, tmp_path / "corpus.zarr")
    shutil.copytree(f"{corpus}.manifest", tmp_path / "corpus.zarr.manifest")
    query = next(iter(grid_sampler(CorpusDataset(copy, "16m"), 32)))
    before = CorpusDataset(copy, "16m")[query]["image"]  # its chunks now sit in the shared cache
    image = zarr.open_group(str(copy), path="r00_utm32n/16m", mode="r+")["image"]
    image[:] = 5000
    after = CorpusDataset(copy, "16m")[query]["image"]
    assert not torch.equal(before, after) and torch.all(after == 0.5)


@pytest.mark.parametrize("variable", ["image", "valid"])
def test_reading_a_truncated_chunk_is_one_line_naming_the_store_and_the_chunk(
    corpus, generators, tmp_path, variable
):
    import shutil

    copy = shutil.copytree(corpus, tmp_path / "corpus.zarr")
    chunk = generators("corrupt").truncate_chunk(copy, "r00_utm32n/16m", variable, 0)
    key = chunk.relative_to(copy / "r00_utm32n/16m" / variable).as_posix()
    expected = rf"{copy.resolve()}/r00_utm32n/16m/{variable} chunk {key} does not decode \(.*\): the corpus is damaged; run `terrasynth check"
    with pytest.raises(CorpusError, match=expected) as error:
        dataset = CorpusDataset(copy, "16m", min_valid_fraction=0.0)  # reads the valid mask
        dataset[next(iter(grid_sampler(dataset, 32)))]  # reads the image
    assert "\n" not in str(error.value)
