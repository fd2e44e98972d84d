import pytest
import rioxarray  # noqa: F401  (registers the .rio accessor)
import xarray as xr

from terrasynth.core import ConfigError
from terrasynth.core.canvas_store import CanvasStore, LevelGrid
from terrasynth.core.manifest import manifest_path

JOB = {"checkpoints": ["model"], "seed": 0}
LEVELS = [LevelGrid("16m", 16.0, (4, 5), 4, 3), LevelGrid("4m", 4.0, (16, 20), 8, 3)]


def _store(path):
    return CanvasStore(path, "EPSG:32632", origin_m=(500_000.0, 5_100_000.0))


def test_a_new_store_is_a_datatree_of_its_levels_with_their_grid_and_crs(tmp_path):
    assert _store(tmp_path / "canvas.zarr").open(JOB, LEVELS) is False
    tree = xr.open_datatree(tmp_path / "canvas.zarr", engine="zarr", decode_coords="all", consolidated=False)
    assert sorted(tree.children) == ["16m", "4m"] and tree.attrs["format"] == "terrasynth-canvas"
    for level in LEVELS:
        data = tree[level.name].to_dataset()
        assert data["image"].shape == (3, *level.shape) and data.rio.crs == "EPSG:32632"
        assert data.rio.resolution() == (level.gsd, -level.gsd)
        assert data.rio.bounds()[0::3] == (500_000.0, 5_100_000.0)  # left, top
        assert data["image"].encoding["chunks"][1] == level.chunk_rows  # a block writes whole chunks
    assert sorted(p.name for p in tmp_path.iterdir()) == ["canvas.zarr", "canvas.zarr.manifest"]  # no partial


def test_a_rerun_of_the_same_job_resumes_with_the_blocks_recorded(tmp_path):
    store = _store(tmp_path / "canvas.zarr")
    store.open(JOB, LEVELS)
    store.image("4m", "r+")[:, 8:16, :] = 0.25
    store.mark("4m", 1)
    again = _store(tmp_path / "canvas.zarr")
    assert again.open(JOB, LEVELS) is True and again.finished() == {("4m", 1)}
    assert float(again.image("4m")[0, 8, 0]) == 0.25


def test_a_store_of_another_job_or_no_store_is_refused_unless_overwritten(tmp_path):
    _store(tmp_path / "canvas.zarr").open(JOB, LEVELS)
    with pytest.raises(ConfigError, match=r"other settings \(seed differ\).*--overwrite to start over"):
        _store(tmp_path / "canvas.zarr").open(JOB | {"seed": 1}, LEVELS)
    (tmp_path / "other.zarr").mkdir()
    with pytest.raises(
        ConfigError, match=r"other\.zarr exists but is no canvas store of terrasynth generate"
    ):
        _store(tmp_path / "other.zarr").open(JOB, LEVELS)
    assert _store(tmp_path / "canvas.zarr").open(JOB | {"seed": 1}, LEVELS, overwrite=True) is False


def test_removing_a_store_removes_its_manifest(tmp_path):
    store = _store(tmp_path / "canvas.zarr")
    store.open(JOB, LEVELS)
    store.mark("16m", 0)
    store.remove()
    assert not (tmp_path / "canvas.zarr").exists() and not manifest_path(tmp_path / "canvas.zarr").exists()
