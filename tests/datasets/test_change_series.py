import numpy as np
import pytest
import torch
import xarray as xr

from terrasynth.core import ConfigError, CorpusError
from terrasynth.datasets import ChangeSeriesPairs, LEVIRCDFolder, open_change_set


def test_all_pairs_of_dates(change_series_store):
    ds = ChangeSeriesPairs(change_series_store)
    assert ds.pairs == [(0, 1), (0, 2), (1, 2)] and len(ds) == 2 * 3
    stored = xr.open_zarr(change_series_store, consolidated=False)
    sample = ds[4]  # series 1, pair (0, 2)
    assert sample["name"] == "s1_t0_t2"
    assert sample["image"].shape == (2, 3, 32, 32) and sample["image"].dtype == torch.float32
    np.testing.assert_allclose(sample["image"][1].numpy(), stored.image[1, 2].values / 255.0, atol=1e-6)
    # both steps' blocks changed between dates 0 and 2
    expected = stored.change[1, 1].values | stored.change[1, 2].values
    assert torch.equal(sample["mask"], torch.from_numpy(expected.astype(np.int64)))
    assert int(sample["mask"][:16, :16].sum()) == 2 * 64
    assert torch.equal(sample["semantic"][0], torch.from_numpy(stored.semantic[1, 0].values.astype(np.int64)))


def test_consecutive_pairs_and_crops(change_series_store):
    ds = ChangeSeriesPairs(change_series_store, pairs="consecutive", crop_size=16)
    assert ds.pairs == [(0, 1), (1, 2)] and len(ds) == 2 * 2 * 4
    sample = ds[4 + 0]  # series 0, pair (1, 2), top-left crop: block 1 (rows 8-15) changed
    assert sample["name"] == "s0_t1_t2_r0_c0" and sample["image"].shape == (2, 3, 16, 16)
    assert int(sample["mask"].sum()) == 64 and int(sample["mask"][8:16, 8:16].sum()) == 64
    with pytest.raises(ConfigError, match="pairs must be"):
        ChangeSeriesPairs(change_series_store, pairs="random")


def test_malformed_series_is_named(tmp_path, change_series_store):
    stored = xr.open_zarr(change_series_store, consolidated=False).load()
    stored.drop_vars("change").to_zarr(tmp_path / "broken.zarr", consolidated=False)
    with pytest.raises(CorpusError, match="variable 'change' is missing"):
        ChangeSeriesPairs(tmp_path / "broken.zarr")
    stored.isel(time=[0]).to_zarr(tmp_path / "short.zarr", consolidated=False)
    with pytest.raises(CorpusError, match="at least two dates"):
        ChangeSeriesPairs(tmp_path / "short.zarr")


def test_open_change_set_reads_either_form(change_series_store, levircd, tmp_path):
    assert isinstance(open_change_set(change_series_store, pairs="consecutive"), ChangeSeriesPairs)
    folder = open_change_set(levircd / "train")  # a synthetic set: A/B/label at its root
    assert isinstance(folder, LEVIRCDFolder) and len(folder) == 2
    assert folder[0]["mask"].shape == (64, 64)
    with pytest.raises(CorpusError, match="neither a Zarr change series nor a folder"):
        open_change_set(tmp_path / "nothing")
