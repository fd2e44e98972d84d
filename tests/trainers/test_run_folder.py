import json
from types import SimpleNamespace

import pytest
import torch

from terrasynth.core.errors import ConfigError, WeightsError
from terrasynth.trainers.run_folder import LAST_CHECKPOINT, RunCheckpointIO, export_model, start_run

RECORD = {"settings": {"max_epochs": 2, "learning_rate": 0.001}, "data": "corpus.zarr"}


def start(out_dir, record=RECORD, module=None, **options):
    module = module or torch.nn.Linear(2, 1)
    return start_run(out_dir, record, module, epochs="settings.max_epochs", **options)


def checkpoint_of(module: torch.nn.Module) -> dict:
    return {"epoch": 0, "state_dict": module.state_dict()}


def test_a_rerun_may_add_epochs_but_not_take_them_away(tmp_path):
    start(tmp_path)
    more = {**RECORD, "settings": {**RECORD["settings"], "max_epochs": 5}}
    start(tmp_path, more)
    assert json.loads((tmp_path / "training.json").read_text())["settings"]["max_epochs"] == 5
    with pytest.raises(ConfigError, match=r"settings\.max_epochs 5 -> 2; only the epochs may grow"):
        start(tmp_path)


def test_a_damaged_run_record_is_refused_in_one_line(tmp_path):
    (tmp_path / "training.json").write_text('{"settings": {"max_')
    with pytest.raises(ConfigError, match=r"training\.json is not a run record .*--overwrite"):
        start(tmp_path)


def test_overwrite_removes_the_run_and_nothing_else(tmp_path):
    module = torch.nn.Linear(2, 1)
    RunCheckpointIO().save_checkpoint(checkpoint_of(torch.nn.Linear(3, 1)), tmp_path / LAST_CHECKPOINT)
    (tmp_path / "logs").mkdir()
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(WeightsError, match="holds another model"):
        start(tmp_path, module=module)
    assert start(tmp_path, module=module, overwrite=True) is None
    assert sorted(path.name for path in tmp_path.iterdir()) == ["notes.txt", "training.json"]


def test_a_checkpoint_is_written_whole_under_its_name_and_leftovers_are_removed(tmp_path):
    module = torch.nn.Linear(2, 1)
    checkpoints = tmp_path / "checkpoints"
    RunCheckpointIO().save_checkpoint(checkpoint_of(module), checkpoints / "last.ckpt")
    assert sorted(path.name for path in checkpoints.iterdir()) == ["last.ckpt"]
    (checkpoints / ".last.ckpt.partial").write_bytes(b"half a checkpoint")  # what a kill leaves
    assert start(tmp_path, module=module) == checkpoints / "last.ckpt"
    assert not (checkpoints / ".last.ckpt.partial").exists()


def test_the_model_folder_holds_the_weights_and_what_they_were_trained_on(tmp_path):
    trainer = SimpleNamespace(is_global_zero=True, current_epoch=3)
    trained = {"trained_on": "corpus:/data/world.zarr:4m", "samples": 8}

    def save(folder):
        folder.mkdir()
        (folder / "weights.safetensors").write_bytes(b"w")

    model = export_model(trainer, tmp_path, save, trained)
    assert model == tmp_path / "model" and sorted(p.name for p in tmp_path.iterdir()) == ["model"]
    assert sorted(p.name for p in model.iterdir()) == ["training.json", "weights.safetensors"]
    assert json.loads((model / "training.json").read_text()) == trained | {"epochs": 3}

    def fail(folder):
        save(folder)
        raise OSError("disk full")

    with pytest.raises(OSError):
        export_model(trainer, tmp_path / "failed", fail, trained)
    assert list((tmp_path / "failed").iterdir()) == []  # no model, no .model.partial
