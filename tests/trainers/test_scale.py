"""Training on several processes: devices, nodes and strategy reach Lightning from settings, files
and options, and a two-process CPU DDP run of each trainer agrees on its weights and writes once."""

import json
import os
import subprocess
import sys
from pathlib import Path

import lightning
import pytest
import torch

from terrasynth.core.config import load_config
from terrasynth.core.errors import ConfigError
from terrasynth.trainers.settings import Changen2Training, MetaEarthTraining, TrainSettings
from terrasynth.workflows.cli import main

SCRIPT = Path(__file__).resolve().parents[1] / "data" / "ddp" / "train_two_ranks.py"


@pytest.mark.parametrize("settings", [MetaEarthTraining, Changen2Training, TrainSettings])
def test_a_settings_file_says_where_each_trainer_runs(settings, tmp_path):
    path = tmp_path / "scale.toml"
    path.write_text('strategy = "ddp"\nnum_nodes = 4\ndevices = "8"\naccelerator = "gpu"\n')
    options = load_config(settings, path).trainer_options()
    assert options == {"accelerator": "gpu", "devices": 8, "num_nodes": 4, "strategy": "ddp"}


def test_an_unknown_strategy_is_refused_naming_lightnings():
    with pytest.raises(ConfigError, match=r"strategy: .*unknown strategy 'dp': use one of auto, ddp,.* fsdp"):
        load_config(TrainSettings, strategy="dp")


def test_sharded_strategies_are_refused_where_ema_weights_need_them_whole():
    with pytest.raises(ConfigError, match=r"'fsdp' shards the weights.*EMA weights.*use ddp"):
        load_config(MetaEarthTraining, strategy="fsdp")
    with pytest.raises(ConfigError, match="'deepspeed_stage_3' shards the weights"):
        load_config(Changen2Training, strategy="deepspeed_stage_3")
    assert load_config(TrainSettings, strategy="fsdp").strategy == "fsdp"  # the detector without an EMA
    with pytest.raises(
        ConfigError, match=r"'fsdp' shards the weights.*ema_decay.*use ddp, or leave ema_decay out"
    ):
        load_config(TrainSettings, strategy="fsdp", ema_decay=0.99)


class _Stop(Exception):
    pass


@pytest.fixture
def trainer_arguments(monkeypatch):
    """The keyword arguments of the first ``lightning.Trainer`` made (which then stops the run)."""
    seen = {}

    def spy(**kwargs):
        seen.update(kwargs)
        raise _Stop

    monkeypatch.setattr(lightning, "Trainer", spy)
    return seen


@pytest.mark.parametrize(
    "command",
    [
        ["train", "metaearth", "--level", "16m", "--tile-size", "32"],
        ["train", "changen2", "--level", "16m", "--tile-size", "32", "--min-valid-fraction", "0"],
    ],
)
def test_train_commands_pass_devices_nodes_and_strategy_to_lightning(
    command, generators, tmp_path, trainer_arguments
):
    from terrasynth.ingest.synthetic import SyntheticSource

    corpus = generators("corpus").build_corpus(
        tmp_path / "corpus.zarr", source=SyntheticSource(seed=0, date="2021-06-01")
    )
    scale = ["--accelerator", "cpu", "--devices", "3", "--num-nodes", "2", "--strategy", "ddp_spawn"]
    with pytest.raises(_Stop):
        main([*command, "--corpus", str(corpus), "--out", str(tmp_path / "run"), *scale])
    assert {k: trainer_arguments[k] for k in ("accelerator", "devices", "num_nodes", "strategy")} == {
        "accelerator": "cpu", "devices": 3, "num_nodes": 2, "strategy": "ddp_spawn",
    }  # fmt: skip
    record = json.loads((tmp_path / "run" / "training.json").read_text())
    assert record["settings"]["num_nodes"] == 2 and record["settings"]["strategy"] == "ddp_spawn"


def test_train_detector_passes_devices_nodes_and_strategy_to_lightning(
    generators, tmp_path, trainer_arguments
):
    root = generators("levircd").write_levircd(tmp_path / "levir")
    with pytest.raises(_Stop):
        main(["train", "detector", "--dataset", "levir-cd", "--root", str(root), "--split", "test",
              "--out", str(tmp_path / "run"), "--num-nodes", "2", "--strategy", "fsdp", "--devices", "4"])  # fmt: skip
    assert (trainer_arguments["num_nodes"], trainer_arguments["strategy"], trainer_arguments["devices"]) == (
        2, "fsdp", 4,
    )  # fmt: skip


def test_an_unknown_strategy_on_the_command_line_is_one_line_and_exit_2(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit:
        main(["train", "changen2", "--corpus", str(tmp_path), "--out", str(tmp_path / "run"),
              "--strategy", "dp"])  # fmt: skip
    error = capsys.readouterr().err.strip()
    assert exit.value.code == 2 and len(error.splitlines()) == 1 and "unknown strategy 'dp'" in error


@pytest.mark.slow
@pytest.mark.parametrize(
    "kind, written",
    [
        ("metaearth", {"training.json", "checkpoints/last.ckpt", "samples/epoch0000_batch0.png", "model"}),
        ("changen2", {"training.json", "checkpoints/last.ckpt", "samples/epoch0000_batch0.png", "model"}),
        ("detector", {"training.json", "checkpoints/last.ckpt", "model"}),
    ],
)
def test_two_process_ddp_training_ends_with_the_same_weights_on_both_and_writes_its_files_once(
    kind, written, tmp_path
):
    run, report = tmp_path / "run", tmp_path / "report"
    report.mkdir()
    environment = os.environ | {"OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": ""}
    finished = subprocess.run(
        [sys.executable, str(SCRIPT), kind, str(run), str(report)],
        capture_output=True, text=True, timeout=600, env=environment,
    )  # fmt: skip
    assert finished.returncode == 0, finished.stderr[-3000:]
    first, second = (json.loads((report / f"rank{rank}.json").read_text()) for rank in (0, 1))
    assert (first["rank"], second["rank"], first["world_size"], second["world_size"]) == (0, 1, 2, 2)
    # the second process changed nothing in the run folder; the first wrote each file there once
    assert second["changes"] == []
    opened = [path for event, path in first["changes"] if event == "open"]
    assert len(opened) == len(set(opened))
    assert all((run / name).exists() for name in written)
    if kind != "detector":
        assert [p.name for p in (run / "samples").iterdir()] == ["epoch0000_batch0.png"]
    # gradients were averaged across the processes, which trained on different samples
    weights = [torch.load(report / f"rank{rank}.pt") for rank in (0, 1)]
    assert weights[0].keys() == weights[1].keys()
    for name, tensor in weights[0].items():
        torch.testing.assert_close(weights[1][name], tensor, rtol=1e-5, atol=1e-6, msg=name)


def test_a_node_other_than_the_first_leaves_the_run_folder_to_it(tmp_path, monkeypatch):
    from terrasynth.trainers.run_folder import LAST_CHECKPOINT, RunCheckpointIO, start_run

    def start(record, **options):
        return start_run(tmp_path, record, torch.nn.Linear(2, 1), epochs="epochs", **options)

    monkeypatch.setenv("NODE_RANK", "1")  # the first process of the second node, before Lightning sets ranks
    start({"epochs": 1})
    assert not (tmp_path / "training.json").exists()
    # with --overwrite it neither checks nor resumes the run that the first node is about to remove
    monkeypatch.setenv("NODE_RANK", "0")
    start({"epochs": 1, "learning_rate": 0.1})
    RunCheckpointIO().save_checkpoint(
        {"state_dict": torch.nn.Linear(2, 1).state_dict()}, tmp_path / LAST_CHECKPOINT
    )
    monkeypatch.setenv("NODE_RANK", "1")
    assert start({"epochs": 1, "learning_rate": 0.2}, overwrite=True) is None
    assert (tmp_path / LAST_CHECKPOINT).exists()  # removed by the first node only
    with pytest.raises(ConfigError, match="other settings"):
        start({"epochs": 1, "learning_rate": 0.2})
