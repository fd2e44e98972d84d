"""Output locations checked before the work starts, and files that appear only once complete."""

import errno
import shutil
from collections import namedtuple
from pathlib import Path

import pytest

from terrasynth.core.errors import ConfigError
from terrasynth.core.outputs import atomic_path, check_free_space, check_output, format_bytes


def test_writing_over_an_existing_file_needs_overwrite(tmp_path):
    (tmp_path / "canvas.tif").write_text("mine")
    with pytest.raises(ConfigError, match=r"canvas\.tif exists: pass --overwrite"):
        check_output(tmp_path / "canvas.tif")
    assert check_output(tmp_path / "canvas.tif", overwrite=True) == tmp_path / "canvas.tif"
    assert (tmp_path / "canvas.tif").read_text() == "mine"  # checked, not touched


def test_a_folder_given_for_a_file_and_a_file_for_a_folder_are_refused(tmp_path):
    (tmp_path / "file").write_text("")
    with pytest.raises(ConfigError, match="is a folder: give the path of a file"):
        check_output(tmp_path, overwrite=True)
    with pytest.raises(ConfigError, match="file is a file: give a folder"):
        check_output(tmp_path / "file", folder=True)
    with pytest.raises(ConfigError, match=r"file is a file, so .*x\.tif cannot be written under it"):
        check_output(tmp_path / "file" / "sub" / "x.tif")


def test_filling_a_folder_that_holds_files_is_refused(tmp_path):
    (tmp_path / "out").mkdir()
    assert check_output(tmp_path / "out", folder=True) == tmp_path / "out"
    (tmp_path / "out" / "kept.txt").write_text("mine")
    with pytest.raises(ConfigError, match="out is not empty: give a new folder"):
        check_output(tmp_path / "out", folder=True)


def test_a_new_path_in_new_folders_is_accepted_and_nothing_is_created(tmp_path):
    assert check_output(tmp_path / "a" / "b" / "x.nc") == tmp_path / "a" / "b" / "x.nc"
    assert check_output(tmp_path / "out", folder=True) == tmp_path / "out"
    assert not list(tmp_path.iterdir())


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs /proc")
def test_a_system_folder_is_refused_before_any_work():
    with pytest.raises(ConfigError, match="cannot write in /proc"):
        check_output("/proc/canvas.tif")


def test_an_output_larger_than_the_free_space_is_refused(tmp_path, monkeypatch):
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage(10**12, 10**12 - 10**9, 10**9))
    check_free_space(tmp_path / "x.tif", 10**8)
    with pytest.raises(ConfigError, match=r"x.tif needs up to 6.0 TB but .* has 1.0 GB free"):
        check_free_space(tmp_path / "new" / "x.tif", 6 * 10**12)


def test_a_file_that_fails_to_write_leaves_nothing_and_keeps_the_old_one(tmp_path):
    path = tmp_path / "results.nc"
    path.write_text("old")
    with pytest.raises(OSError, match="No space"), atomic_path(path) as partial:
        partial.write_text("half")
        raise OSError(errno.ENOSPC, "No space left on device", str(partial))
    assert path.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["results.nc"]
    with atomic_path(path) as partial:
        partial.write_text("new")
    assert path.read_text() == "new" and [p.name for p in tmp_path.iterdir()] == ["results.nc"]


def test_a_model_folder_appears_only_once_complete_and_then_replaces_the_old_one(tmp_path):
    out = tmp_path / "model"
    out.mkdir()
    (out / "config.json").write_text("old")
    with pytest.raises(KeyboardInterrupt), atomic_path(out) as partial:
        partial.mkdir()
        (partial / "config.json").write_text("new")
        raise KeyboardInterrupt  # Ctrl-C before the weights are written
    assert [p.name for p in tmp_path.iterdir()] == ["model"] and (out / "config.json").read_text() == "old"
    with atomic_path(out) as partial:
        partial.mkdir()
        (partial / "weights.safetensors").write_bytes(b"new")
    assert [p.name for p in tmp_path.iterdir()] == ["model"]
    assert [p.name for p in out.iterdir()] == ["weights.safetensors"]


def test_a_rerun_writes_over_what_a_killed_write_left(tmp_path):
    (tmp_path / ".corpus.zarr.partial" / "60m").mkdir(parents=True)  # a kill mid-write leaves it
    (tmp_path / ".job.json.partial").write_text("{half")
    with atomic_path(tmp_path / "corpus.zarr") as partial:
        assert not partial.exists()
        (partial / "16m").mkdir(parents=True)
    with atomic_path(tmp_path / "job.json") as partial:
        assert not partial.exists()
        partial.write_text("{}")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["corpus.zarr", "job.json"]
    assert [p.name for p in (tmp_path / "corpus.zarr").iterdir()] == ["16m"]


def test_sizes_read_in_decimal_units():
    assert [format_bytes(n) for n in (999, 2900, 4.3e9, 6e15)] == ["999 B", "2.9 kB", "4.3 GB", "6.0 PB"]
