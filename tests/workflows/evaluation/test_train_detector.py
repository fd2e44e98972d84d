import csv
import json
import math
import signal

import pytest
import torch
from typer.testing import CliRunner

from terrasynth.core.errors import ConfigError, WeightsError
from terrasynth.evaluation.results import open_results
from terrasynth.models.detector import ChangeDetector
from terrasynth.models.pretrained import public_config
from terrasynth.trainers.settings import TrainSettings
from terrasynth.workflows.cli import app, main
from terrasynth.workflows.train_detector import train_detector

TINY = {"encoder": "resnet18", "decoder_channels": 8, "semantic_classes": 6}
SMALL = {"encoder": "test_efficientnet", "decoder_channels": 8}
"""timm's test encoder (82 000 weights): checkpoints of a few MB, for the tests of resuming."""


def trained_epochs(run) -> int:
    """The epochs recorded beside the final model of a training run."""
    return json.loads((run / "model" / "training.json").read_text())["epochs"]


def settings(epochs: int) -> TrainSettings:
    return TrainSettings(
        epochs=epochs, batch_size=2, crop_size=32, accelerator="cpu", devices=1, learning_rate=1e-3
    )


def test_training_writes_a_model_folder_and_resumes(tmp_path, change_pairs):
    pairs = change_pairs(count=4, size=48, semantic=True)
    out = tmp_path / "run"
    path = train_detector(
        pairs, out, config=TINY, settings=settings(1), progress=False, data_name="synthetic"
    )
    assert path == out / "model" and (out / "checkpoints" / "last.ckpt").is_file()
    first = json.loads((path / "training.json").read_text())
    assert first["epochs"] == 1 and first["trained_on"] == "synthetic"
    model = ChangeDetector.from_pretrained(path)
    assert {key: public_config(model)[key] for key in TINY} == TINY

    # a rerun with more epochs resumes from last.ckpt: only the missing epoch is trained
    train_detector(
        pairs, out, config=TINY, settings=settings(2), progress=False, val_dataset=change_pairs(2, 32),
        data_name="synthetic",
    )  # fmt: skip
    assert trained_epochs(out) == 2
    with open(out / "logs" / "version_1" / "metrics.csv") as rows:
        logged = list(csv.DictReader(rows))
    assert {row["epoch"] for row in logged} == {"1"} and logged[-1]["val_change_loss"]


@pytest.mark.parametrize("augment", [True, False])
def test_training_samples_are_augmented_and_validation_samples_are_not(
    tmp_path, change_pairs, monkeypatch, augment
):
    from terrasynth.trainers import change_data

    augmented = []
    original = change_data.random_dihedral

    def spy(sample, generator=None):
        augmented.append(sample["name"])
        return original(sample, generator)

    monkeypatch.setattr(change_data, "random_dihedral", spy)
    train, val = change_pairs(count=4, size=48), change_pairs(2, 32)
    train_detector(
        train, tmp_path, config=TINY, settings=settings(1).model_copy(update={"augment": augment}), progress=False,
        val_dataset=val,
    )  # fmt: skip
    training_names = sorted(train[i]["name"] for i in range(len(train)))
    assert sorted(augmented) == (training_names if augment else [])


def test_band_mismatch_is_refused(tmp_path, change_pairs):
    config = {"encoder": "resnet18", "in_channels": 4, "mean": (0.5,) * 4, "std": (0.25,) * 4}
    with pytest.raises(ConfigError, match="samples have 3 bands but the detector expects 4"):
        train_detector(change_pairs(1, 32), tmp_path, config=config, settings=settings(1), progress=False)


def test_train_then_evaluate_on_all_three_layouts(tmp_path, change_benchmarks):
    """The real commands end to end: a detector with semantic heads trained on SECOND, then
    evaluated on the test splits of LEVIR-CD, S2Looking and SECOND."""
    run = tmp_path / "run"
    train = ["train", "detector", "--dataset", "second", "--root", str(change_benchmarks["second"]), "--out",
             str(run), "--semantic", "--epochs", "1", "--batch-size", "2", "--crop-size", "0",
             "--accelerator", "cpu", "--devices", "1"]  # fmt: skip
    result = CliRunner().invoke(app, train)
    assert result.exit_code == 0, result.output
    assert (run / "model" / "config.json").is_file() and "Trained on 2 pairs" in result.output
    for kind, root in change_benchmarks.items():
        out = tmp_path / f"{kind}.nc"
        evaluate = ["evaluate", "change", "--dataset", kind, "--root", str(root), "--checkpoint",
                    str(run / "model"), "--out", str(out), "--window", "64"]  # fmt: skip
        result = CliRunner().invoke(app, evaluate, env={"COLUMNS": "200"})
        assert result.exit_code == 0, result.output
        results = open_results(out)
        assert results["dataset"].values.tolist() == [kind] and results["split"].values.tolist() == ["test"]
        assert 0.0 <= float(results["scores"].sel(metric="f1").fillna(0).item()) <= 1.0
        assert ("semantic_scores" in results) == (kind == "second")
    semantic = open_results(tmp_path / "second.nc")["semantic_scores"]
    assert semantic["variant"].values.tolist() == ["official", "torchange-37"]


def test_a_run_killed_while_writing_a_checkpoint_resumes_from_the_one_before(
    tmp_path, change_pairs, killed_while_checkpointing, count_steps
):
    pairs = change_pairs(count=4, size=32)

    def train(callbacks=()):
        train_detector(
            pairs, tmp_path, config=SMALL, settings=settings(3), progress=False, callbacks=callbacks
        )

    assert killed_while_checkpointing(train, epoch=1) == -9  # 2 steps per epoch
    # the first epoch's checkpoint is whole, the second's half-written aside; no final weights yet
    assert torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=True)["epoch"] == 0
    assert (tmp_path / "checkpoints" / ".last.ckpt.partial").is_file()
    assert not (tmp_path / "model").exists()
    counter = count_steps()
    train([counter])
    assert counter.steps == 4  # the second and third epochs
    assert not (tmp_path / "checkpoints" / ".last.ckpt.partial").exists()
    assert trained_epochs(tmp_path) == 3


def test_ctrl_c_keeps_the_last_checkpoint_and_a_rerun_resumes(
    tmp_path, change_pairs, ctrl_c_after_step, count_steps
):
    pairs = change_pairs(count=4, size=32)
    with pytest.raises(KeyboardInterrupt):  # not Lightning's exit(1)
        train_detector(
            pairs,
            tmp_path,
            config=SMALL,
            settings=settings(2),
            progress=False,
            callbacks=[ctrl_c_after_step(3)],
        )
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # Ctrl-C works again
    assert torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=True)["epoch"] == 0
    assert not (tmp_path / "model").exists()
    counter = count_steps()
    train_detector(pairs, tmp_path, config=SMALL, settings=settings(2), progress=False, callbacks=[counter])
    assert counter.steps == 2 and trained_epochs(tmp_path) == 2


def test_ctrl_c_during_train_detector_exits_130_with_one_line(
    tmp_path, change_benchmarks, monkeypatch, capsys
):
    from terrasynth.trainers.detector import DetectorModule

    step = DetectorModule.training_step

    def pressed_ctrl_c(module, *args):
        signal.raise_signal(signal.SIGINT)
        return step(module, *args)

    monkeypatch.setattr(DetectorModule, "training_step", pressed_ctrl_c)
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "detector", "--dataset", "levir-cd", "--root", str(change_benchmarks["levir-cd"]),
              "--out", str(tmp_path), "--encoder", "test_efficientnet", "--epochs", "1", "--crop-size", "32",
              "--accelerator", "cpu", "--devices", "1"])  # fmt: skip
    assert exit_info.value.code == 130
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert (
        last
        == "terrasynth: error: interrupted: nothing unfinished is left looking finished; rerun the same command (ingest and training resume where they stopped)"
    )


def train_command(root, out, *extra):
    """``terrasynth train detector`` on a LEVIR-CD folder with the test encoder, for one epoch."""
    args = ["train", "detector", "--dataset", "levir-cd", "--root", str(root), "--out", str(out),
            "--encoder", "test_efficientnet", "--epochs", "1", "--crop-size", "32", "--accelerator", "cpu",
            "--devices", "1", *extra]  # fmt: skip
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    return exit_info.value.code


def test_change_balance_weighs_changed_pixels_by_the_training_sets_changed_share(tmp_path, change_benchmarks):
    from terrasynth.datasets import open_change_dataset

    root = change_benchmarks["levir-cd"]
    train = open_change_dataset("levir-cd", root, "train")
    masks = torch.stack([train[i]["mask"] for i in range(len(train))]).float()
    changed = masks.mean().item()
    assert 0 < changed < 1
    assert train_command(root, tmp_path, "--change-balance", "0.5") == 0
    record = json.loads((tmp_path / "training.json").read_text())
    assert record["settings"]["change_balance"] == 0.5
    assert record["positive_weight"] == pytest.approx(math.sqrt((1 - changed) / changed))


@pytest.mark.parametrize("fraction", [0.5, 0.0])
def test_a_damaged_checkpoint_is_refused_in_one_line_and_overwrite_starts_over(
    tmp_path, change_benchmarks, generators, capsys, fraction
):
    root = change_benchmarks["levir-cd"]
    assert train_command(root, tmp_path) == 0
    last = generators("corrupt").truncate_file(tmp_path / "checkpoints" / "last.ckpt", fraction)
    capsys.readouterr()
    assert train_command(root, tmp_path, "--epochs", "2") == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and f"{last} is damaged" in error and "--overwrite" in error
    assert train_command(root, tmp_path, "--epochs", "2", "--overwrite") == 0
    assert trained_epochs(tmp_path) == 2
    assert sorted(path.name for path in (tmp_path / "logs").iterdir()) == ["version_0"]  # a new run


def test_a_checkpoint_of_another_encoder_is_refused(tmp_path, change_pairs):
    pairs = change_pairs(count=2, size=32)
    train_detector(pairs, tmp_path / "a", config=SMALL, settings=settings(1), progress=False)
    (tmp_path / "b" / "checkpoints").mkdir(parents=True)
    (tmp_path / "a" / "checkpoints" / "last.ckpt").rename(tmp_path / "b" / "checkpoints" / "last.ckpt")
    other = SMALL | {"encoder": "test_resnet"}
    with pytest.raises(WeightsError, match=r"b/checkpoints/last\.ckpt holds another model .* --overwrite"):
        train_detector(pairs, tmp_path / "b", config=other, settings=settings(1), progress=False)


def test_a_rerun_on_another_data_set_or_with_other_settings_is_refused_naming_them(tmp_path, change_pairs):
    pairs = change_pairs(count=2, size=32)
    run = dict(config=SMALL, progress=False)
    train_detector(pairs, tmp_path, settings=settings(1), data_name="levir-cd:/data/LEVIR-CD:train", **run)
    with pytest.raises(
        ConfigError, match='data "levir-cd:/data/LEVIR-CD:train" -> "folder:/data/mine:train"'
    ):
        train_detector(pairs, tmp_path, settings=settings(1), data_name="folder:/data/mine:train", **run)
    faster = settings(1).model_copy(update={"learning_rate": 0.01, "batch_size": 1})
    with pytest.raises(ConfigError) as refused:
        train_detector(pairs, tmp_path, settings=faster, data_name="levir-cd:/data/LEVIR-CD:train", **run)
    assert "settings.batch_size 2 -> 1; settings.learning_rate 0.001 -> 0.01;" in str(refused.value)
    assert json.loads((tmp_path / "training.json").read_text())["data"] == "levir-cd:/data/LEVIR-CD:train"


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--epochs", "0", "--epochs: Input should be greater than or equal to 1"),
        ("--batch-size", "0", "--batch-size: Input should be greater than or equal to 1"),
        ("--learning-rate", "-1", "--learning-rate: Input should be greater than 0"),
        ("--crop-size", "-5", "--crop-size: Input should be greater than or equal to 0"),
        ("--change-balance", "2", "--change-balance: Input should be less than or equal to 1"),
        ("--ema-decay", "1", "--ema-decay: Input should be less than 1"),
        (
            "--precision",
            "7-bit",
            "Invalid value for '--precision': Value error, '7-bit' is not one of '32-true'",
        ),
        ("--encoder", "resnet9000", "unknown encoder 'resnet9000': give a timm model name (did you mean"),
    ],
)
def test_train_detector_refuses_bad_numbers_in_one_line(
    tmp_path, change_benchmarks, capsys, option, value, message
):
    out = tmp_path / "run"
    assert train_command(change_benchmarks["levir-cd"], out, option, value) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and message in error
    assert not out.exists()  # refused before anything was written


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("run.yaml", "precision: 7-bit\n", "run.yaml: precision: Input should be '32-true'"),
        ("run.toml", "batch_size = 0\n", "run.toml: batch_size: Input should be greater than or equal to 1"),
    ],
)
def test_train_detector_refuses_a_bad_config_file_in_one_line(
    tmp_path, change_benchmarks, capsys, name, text, message
):
    (tmp_path / name).write_text(text)
    assert (
        train_command(change_benchmarks["levir-cd"], tmp_path / "run", "--config", str(tmp_path / name)) == 2
    )
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and message in error


def test_evaluate_change_refuses_a_truncated_detector_in_one_line(
    tmp_path, change_benchmarks, generators, capsys
):
    model = tmp_path / "model"
    ChangeDetector(**SMALL).save_pretrained(model)
    generators("corrupt").truncate_file(model / "diffusion_pytorch_model.safetensors")
    args = ["evaluate", "change", "--dataset", "levir-cd", "--root", str(change_benchmarks["levir-cd"]),
            "--checkpoint", str(model), "--out", str(tmp_path / "results.nc")]  # fmt: skip
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    error = capsys.readouterr().err
    assert exit_info.value.code == 2 and error.count("\n") == 1
    assert f"cannot read the weights in {model} (damaged or truncated?)" in error


def test_a_cosine_schedule_takes_the_learning_rate_to_zero_over_the_run(tmp_path, change_pairs):
    import lightning as L

    rates = []

    class Record(L.Callback):
        def on_train_batch_start(self, trainer, module, batch, batch_index):
            rates.append(trainer.optimizers[0].param_groups[0]["lr"])

    cosine = settings(2).model_copy(update={"schedule": "cosine"})
    train_detector(
        change_pairs(count=4, size=32), tmp_path / "run", config=SMALL, settings=cosine, progress=False,
        callbacks=[Record()],
    )  # fmt: skip
    # 2 epochs of 2 batches: steps 0..3 of 4 at 1e-3 * (1 + cos(pi * step / 4)) / 2
    expected = [1e-3 * (1 + math.cos(math.pi * step / 4)) / 2 for step in range(4)]
    assert rates == pytest.approx(expected, rel=1e-6)


def test_with_ema_decay_the_saved_model_is_the_moving_average_of_weights_and_statistics(
    tmp_path, change_pairs
):
    import lightning as L

    from terrasynth.trainers.ema import warmup_ema

    live = []

    class Record(L.Callback):
        def on_train_batch_end(self, trainer, module, outputs, batch, batch_index):
            live.append({key: value.detach().clone() for key, value in module.model.state_dict().items()})

    averaged = settings(2).model_copy(update={"ema_decay": 0.5})
    path = train_detector(
        change_pairs(count=4, size=32), tmp_path / "run", config=SMALL, settings=averaged, progress=False,
        callbacks=[Record()],
    )  # fmt: skip
    # 2 epochs of 2 batches: the first step's weights, then each later step's weighed in as warmup_ema does
    average = warmup_ema(0.5)
    expected = live[0]
    for updates, weights in enumerate(live[1:], start=1):
        expected = {key: average(expected[key], weights[key], torch.tensor(updates)) for key in weights}
    saved = ChangeDetector.from_pretrained(path).state_dict()
    floats = [key for key, value in saved.items() if value.is_floating_point()]
    assert any(key.endswith("running_mean") for key in floats)  # BatchNorm statistics are averaged too
    for key in floats:
        # the same float32 operations in the same order as Lightning's AveragedModel: equal to rounding
        torch.testing.assert_close(saved[key], expected[key].to(saved[key].dtype), rtol=1e-5, atol=1e-6)
    assert any(not torch.allclose(saved[key], live[-1][key]) for key in floats)  # not the last weights
