import multiprocessing
from collections import Counter

import numpy as np
import pytest

from terrasynth.core import ConfigError, CorpusError
from terrasynth.core.manifest import RECORD, TileManifest, manifest_path
from terrasynth.core.shard_manifest import ShardManifest


def test_records_of_finished_tiles_sit_beside_the_store(tmp_path):
    manifest = TileManifest(tmp_path / "c.zarr")
    assert manifest.root == manifest_path(tmp_path / "c.zarr") == tmp_path / "c.zarr.manifest"
    assert manifest.finished() == set() and manifest.job() is None
    manifest.mark("r00_utm32n", "16m", 0, 1)
    manifest.mark("r00_utm32n", "60m", 2, 0)
    assert manifest.finished() == {("r00_utm32n", "16m", 0, 1), ("r00_utm32n", "60m", 2, 0)}
    assert manifest.levels() == [("r00_utm32n", "16m"), ("r00_utm32n", "60m")]
    assert not (tmp_path / "c.zarr").exists()


def test_marking_a_tile_appends_one_record_whatever_the_manifest_holds(tmp_path):
    manifest = TileManifest(tmp_path / "c.zarr")
    for row in range(50):
        for col in range(40):
            manifest.mark("r00_utm32n", "4m", row, col)
    (log,) = (manifest.root / "r00_utm32n" / "4m").glob("*.tiles")  # one file per process and level
    assert log.stat().st_size == 2000 * RECORD.itemsize
    done = manifest.done("r00_utm32n", "4m", (60, 40))
    assert done[:50].all() and not done[50:].any()


def test_a_record_cut_short_by_a_kill_claims_nothing(tmp_path):
    manifest = TileManifest(tmp_path / "c.zarr")
    manifest.mark("r00_utm32n", "16m", 0, 0)
    (log,) = (manifest.root / "r00_utm32n" / "16m").glob("*.tiles")
    with log.open("ab") as file:  # what a kill mid-append leaves: part of the record for tile (0, 1)
        file.write(np.array([(0, 1, 0)], dtype=RECORD).tobytes()[:7])
    assert manifest.finished() == {("r00_utm32n", "16m", 0, 0)}


def _mark_in_another_process(corpus, col):
    TileManifest(corpus).mark("r00_utm32n", "16m", 1, col, no_data="no image in the date range")


def test_processes_append_to_their_own_logs_and_no_data_reasons_are_kept(tmp_path):
    manifest = TileManifest(tmp_path / "c.zarr")
    manifest.mark("r00_utm32n", "16m", 0, 0)
    manifest.mark("r00_utm32n", "16m", 0, 1, no_data="outside the\ncollection")
    context = multiprocessing.get_context("fork")
    for col in (0, 1):
        child = context.Process(target=_mark_in_another_process, args=(tmp_path / "c.zarr", col))
        child.start()
        child.join()
        assert child.exitcode == 0
    assert len(list((manifest.root / "r00_utm32n" / "16m").glob("*.tiles"))) == 3
    assert manifest.no_data() == {
        ("r00_utm32n", "16m", 0, 1): "outside the collection",
        ("r00_utm32n", "16m", 1, 0): "no image in the date range",
        ("r00_utm32n", "16m", 1, 1): "no image in the date range",
    }
    assert manifest.no_data_counts("r00_utm32n", "16m") == Counter(
        {"outside the collection": 1, "no image in the date range": 2}
    )


def test_forgetting_damaged_tiles_keeps_the_others_and_their_reasons(tmp_path):
    manifest = TileManifest(tmp_path / "c.zarr")
    for col in range(4):
        manifest.mark("r00_utm32n", "16m", 0, col, no_data="no image" if col % 2 else None)
    manifest.mark("r00_utm32n", "60m", 0, 0)
    manifest.forget("r00_utm32n", "16m", [(0, 1), (0, 2)])
    assert manifest.finished() == {
        ("r00_utm32n", "16m", 0, 0),
        ("r00_utm32n", "16m", 0, 3),
        ("r00_utm32n", "60m", 0, 0),
    }
    assert manifest.no_data() == {("r00_utm32n", "16m", 0, 3): "no image"}
    assert not list(manifest.root.rglob(".*"))  # no temporary file left behind
    manifest.mark("r00_utm32n", "16m", 0, 1)  # the rerun writes it again
    assert manifest.done("r00_utm32n", "16m", (1, 4)).tolist() == [[True, True, False, True]]


def test_a_manifest_of_marker_files_from_an_earlier_version_still_resumes(tmp_path):
    manifest = TileManifest(tmp_path / "c.zarr")
    folder = manifest.root / "r00_utm32n" / "16m"
    folder.mkdir(parents=True)
    (folder / "0_0").write_text("")
    (folder / "0_1").write_text("no image")
    (folder / ".1_0.123.tmp").write_text("")  # a kill mid-mark left it: it claims nothing
    manifest.mark("r00_utm32n", "16m", 1, 1)
    assert manifest.done("r00_utm32n", "16m", (2, 2)).tolist() == [[True, True], [False, True]]
    assert manifest.no_data() == {("r00_utm32n", "16m", 0, 1): "no image"}
    manifest.forget("r00_utm32n", "16m", [(0, 0)])
    assert manifest.finished() == {("r00_utm32n", "16m", 0, 1), ("r00_utm32n", "16m", 1, 1)}
    assert not (folder / "0_0").exists() and manifest.no_data() == {("r00_utm32n", "16m", 0, 1): "no image"}


def test_the_job_round_trips_and_a_damaged_one_is_named(tmp_path):
    manifest = TileManifest(tmp_path / "c.zarr")
    manifest.start({"levels": ["60m"], "tile_size": 256})
    assert manifest.job() == {"levels": ["60m"], "tile_size": 256}
    (manifest.root / "job.json").write_text("{not json")
    with pytest.raises(CorpusError, match="damaged; pass --overwrite"):
        manifest.job()
    manifest.remove()
    assert not manifest.root.exists()


def test_a_rerun_resumes_the_same_job_and_another_is_refused_in_one_line(tmp_path):
    manifest = TileManifest(tmp_path / "c.zarr")
    assert not manifest.resumes({"tile_size": 256})  # nothing recorded yet
    manifest.start({"levels": ("60m",), "tile_size": 256})
    assert manifest.resumes({"levels": ("60m",), "tile_size": 256})  # tuples read back as lists
    with pytest.raises(CorpusError) as refused:
        manifest.resumes({"levels": ["60m"], "tile_size": 128})
    message = str(refused.value)
    assert "\n" not in message
    assert f"{tmp_path / 'c.zarr'} is a corpus with other settings (tile_size differ)" in message
    assert "pass --overwrite to start over" in message


SHARDED = {"layout": "levir-cd", "pairs": 6, "batch_size": 2}


def test_a_killed_sharded_synthesis_resumes_with_its_finished_shards(tmp_path):
    stage = tmp_path / ".out.partial"
    manifest = ShardManifest(stage)
    assert manifest.root == manifest_path(stage) and not manifest.resumes(SHARDED)
    manifest.mark(0, [{"changed": 0.5}, {"changed": 0.25}])
    manifest.mark(4, [{"changed": 1.0}])
    # the kill: a rerun of the same job opens the manifest again
    again = ShardManifest(stage)
    assert again.resumes(dict(SHARDED))
    assert again.finished() == {0: [{"changed": 0.5}, {"changed": 0.25}], 4: [{"changed": 1.0}]}
    assert not list(again.root.rglob(".*"))  # no temporary file left behind
    again.remove()
    assert not again.root.exists()


def test_a_sharded_synthesis_with_other_settings_is_refused_in_one_line(tmp_path):
    stage = tmp_path / ".out.partial"
    manifest = ShardManifest(stage)
    manifest.resumes(SHARDED)
    manifest.mark(0, [{"changed": 0.5}])
    with pytest.raises(ConfigError) as refused:
        ShardManifest(stage).resumes(SHARDED | {"batch_size": 3})
    message = str(refused.value)
    assert "\n" not in message
    assert f"{stage} is a synthesis output with other settings (batch_size differ)" in message
    assert "remove it to start over" in message
    assert manifest.finished() == {0: [{"changed": 0.5}]}  # the refused rerun changed nothing
    (manifest.root / "job.json").write_text("{not json")
    with pytest.raises(ConfigError, match="damaged; remove it to start the synthesis output over"):
        manifest.resumes(SHARDED)
