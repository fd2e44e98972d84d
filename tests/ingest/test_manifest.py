import pytest

from terrasynth.core import CorpusError
from terrasynth.ingest.manifest import TileManifest, manifest_path


def test_markers_record_finished_tiles_beside_the_store(tmp_path):
    manifest = TileManifest(tmp_path / "c.zarr")
    assert manifest.root == manifest_path(tmp_path / "c.zarr") == tmp_path / "c.zarr.manifest"
    assert manifest.finished() == set() and manifest.job() is None
    manifest.mark("r00_utm32n", "16m", 0, 1)
    manifest.mark("r00_utm32n", "60m", 2, 0)
    assert manifest.finished() == {("r00_utm32n", "16m", 0, 1), ("r00_utm32n", "60m", 2, 0)}
    assert not (tmp_path / "c.zarr").exists()


def test_a_marker_interrupted_before_its_rename_claims_nothing(tmp_path):
    manifest = TileManifest(tmp_path / "c.zarr")
    manifest.mark("r00_utm32n", "16m", 0, 0)
    (manifest.root / "r00_utm32n" / "16m" / ".0_1.123.tmp").touch()  # what a kill mid-mark leaves
    assert manifest.finished() == {("r00_utm32n", "16m", 0, 0)}


def test_the_job_round_trips_and_a_damaged_one_is_named(tmp_path):
    manifest = TileManifest(tmp_path / "c.zarr")
    manifest.start({"levels": ["60m"], "tile_size": 256})
    assert manifest.job() == {"levels": ["60m"], "tile_size": 256}
    (manifest.root / "job.json").write_text("{not json")
    with pytest.raises(CorpusError, match="damaged; pass --overwrite"):
        manifest.job()
    manifest.remove()
    assert not manifest.root.exists()
