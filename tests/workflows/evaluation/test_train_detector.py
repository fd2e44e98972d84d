import csv
import json

import pytest
from typer import Typer
from typer.testing import CliRunner

from terrasynth.core.errors import ConfigError
from terrasynth.models.detector import DetectorConfig, load_detector
from terrasynth.workflows.train_detector import TrainSettings, make_cli, train_detector

TINY = DetectorConfig(encoder="resnet18", decoder_channels=8, semantic_classes=6)


def settings(epochs: int) -> TrainSettings:
    return TrainSettings(
        epochs=epochs, batch_size=2, crop_size=32, accelerator="cpu", devices=1, learning_rate=1e-3
    )


def test_training_writes_safetensors_and_resumes(tmp_path, change_pairs):
    pairs = change_pairs(count=4, size=48, semantic=True)
    out = tmp_path / "run"
    path = train_detector(
        pairs, out, config=TINY, settings=settings(1), progress=False, data_name="synthetic"
    )
    assert path == out / "detector.safetensors" and (out / "last.ckpt").is_file()
    first = json.loads((out / "detector.json").read_text())
    assert first["metadata"]["epochs"] == 1 and first["metadata"]["trained_on"] == "synthetic"
    model, _ = load_detector(path)
    assert model.config == TINY

    # a rerun with more epochs resumes from last.ckpt: only the missing epoch is trained
    train_detector(
        pairs, out, config=TINY, settings=settings(2), progress=False, val_dataset=change_pairs(2, 32)
    )
    assert json.loads((out / "detector.json").read_text())["metadata"]["epochs"] == 2
    with open(out / "logs" / "version_1" / "metrics.csv") as rows:
        logged = list(csv.DictReader(rows))
    assert {row["epoch"] for row in logged} == {"1"} and logged[-1]["val_change_loss"]


def test_band_mismatch_is_refused(tmp_path, change_pairs):
    config = DetectorConfig(encoder="resnet18", in_channels=4, mean=(0.5,) * 4, std=(0.25,) * 4)
    with pytest.raises(ConfigError, match="samples have 3 bands but the detector expects 4"):
        train_detector(change_pairs(1, 32), tmp_path, config=config, settings=settings(1), progress=False)


def test_command_trains_from_the_opened_data_set(tmp_path, change_pairs):
    opened = []

    def open_dataset(kind, root, split):
        opened.append((kind, root.name, split))
        return change_pairs(count=2, size=32)

    app = Typer()
    app.command()(make_cli(open_dataset))
    result = CliRunner().invoke(
        app,
        ["--dataset", "folder", "--root", str(tmp_path / "data"), "--out", str(tmp_path / "run"), "--epochs", "1",
         "--batch-size", "2", "--crop-size", "0", "--accelerator", "cpu", "--devices", "1", "--encoder", "resnet18"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert opened == [("folder", "data", "train")]
    assert (tmp_path / "run" / "detector.safetensors").is_file() and "Trained on 2 pairs" in result.output
