"""`terrasynth train metaearth` on a synthetic-world corpus, through torchgeo's grid sampler."""

import json
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from terrasynth.core import ConfigError
from terrasynth.ingest.synthetic import SyntheticSource
from terrasynth.workflows.cli import app, main
from terrasynth.workflows.train_metaearth import corpus_stage

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def corpus(generators, tmp_path_factory):
    out = tmp_path_factory.mktemp("corpus") / "corpus.zarr"
    return generators("corpus").build_corpus(out, source=SyntheticSource(seed=0, date="2021-06-01"))


def test_stages_read_the_corpus_tile_by_tile(corpus):
    first, is_first = corpus_stage(corpus, "60m", chip=16, min_valid_fraction=0.0)
    assert is_first and set(first[0]) >= {"image", "gsd", "landcover"} and "condition" not in first[0]
    second, is_first = corpus_stage(corpus, "16m", chip=32, min_valid_fraction=0.0)
    sample = second[len(second) - 1]
    assert not is_first and sample["image"].shape == (4, 32, 32)
    assert float(sample["gsd"]) == 16.0 and 55.0 < float(sample["condition_gsd"]) < 65.0
    # every tile of the level once: 105 x 75 pixels at 16 m -> 4 x 3 tiles of 32
    assert len(second) == 12
    with pytest.raises(ConfigError, match="has no level 10m; it holds 60m, 16m, 4m"):
        corpus_stage(corpus, "10m")


def test_train_metaearth_command(corpus, tmp_path):
    out = tmp_path / "run"
    args = ["train", "metaearth", "--corpus", corpus, "--level", "16m", "--out", str(out), "--tile-size", "32",
            "--epochs", "1", "--batch-size", "4"]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    tiles = len(corpus_stage(corpus, "16m", chip=32)[0])  # the tiles at least half valid
    assert 0 < tiles < 12
    message = f"trained a tiny stage conditioned on the coarser level at 16m on {tiles} tiles"
    assert message in " ".join(result.output.split())
    config = json.loads((out / "model" / "config.json").read_text())
    assert config["gsd"] == 16.0 and config["condition_gsd"] == pytest.approx(60.0, abs=5)
    assert (out / "checkpoints" / "last.ckpt").exists()


def test_train_metaearth_on_a_corpus_that_lost_its_condition_level_is_refused_naming_it(
    corpus, generators, tmp_path, capsys
):
    import shutil

    from terrasynth.core import CorpusError

    damaged = shutil.copytree(corpus, tmp_path / "corpus.zarr")
    generators("corrupt").drop_level(damaged, "r00_utm32n/60m")
    message = r"r00_utm32n has no level 60m, which the corpus records \(60m, 16m, 4m\)"
    for first_stage in (None, True):  # never taken for a from-noise first stage
        with pytest.raises(CorpusError, match=message):
            corpus_stage(damaged, "16m", first_stage=first_stage, chip=32)
    with pytest.raises(SystemExit) as exit_info:
        main(
            ["train", "metaearth", "--corpus", str(damaged), "--level", "16m", "--out", str(tmp_path / "run")]
        )
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and err.count("\n") == 1 and "has no level 60m" in err
    assert not (tmp_path / "run").exists()


def command(*args):
    """The exit status of ``terrasynth`` with ``args``."""
    with pytest.raises(SystemExit) as exit_info:
        main([str(arg) for arg in args])
    return exit_info.value.code


@pytest.mark.parametrize(
    ("trainer", "option", "value", "message"),
    [
        (
            "metaearth",
            "--tile-size",
            "0",
            "--tile-size: Input should be greater than or equal to 4",
        ),
        (
            "metaearth",
            "--tile-size",
            "512",
            "no 512-pixel tile of 16m is at least half valid (the level may be",
        ),
        ("metaearth", "--tile-size", "512", "give a smaller --tile-size, or ingest a larger area"),
        (
            "changen2",
            "--tile-size",
            "0",
            "--tile-size: Input should be greater than or equal to 1",
        ),
        ("changen2", "--tile-size", "512", "give a smaller --tile-size or --min-valid-fraction, or ingest a"),
    ],
)
def test_train_refuses_a_tile_size_that_does_not_fit_in_one_line(
    corpus, tmp_path, capsys, trainer, option, value, message
):
    out = tmp_path / "run"
    assert command("train", trainer, "--corpus", corpus, "--level", "16m", "--out", out, option, value) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and message in error and not out.exists()


@pytest.mark.parametrize("trainer", ["metaearth", "changen2"])
@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("run.yaml", "precision: 7-bit\n", "run.yaml: precision: Input should be '32-true', '16-mixed'"),
        ("run.toml", "learning_rate = -1\n", "run.toml: learning_rate: Input should be greater than 0"),
        ("run.yaml", "beta_start: 0.03\n", "beta_start (0.03) must be below beta_end (0.0155)"),
    ],
)
def test_train_refuses_a_bad_config_file_in_one_line(corpus, tmp_path, capsys, trainer, name, text, message):
    (tmp_path / name).write_text(text)
    args = ["train", trainer, "--corpus", corpus, "--level", "16m", "--out", tmp_path / "run"]
    assert command(*args, "--config", tmp_path / name) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and message in error


def test_train_metaearth_refuses_a_damaged_checkpoint_in_one_line_and_overwrite_starts_over(
    corpus, tmp_path, capsys, generators
):
    args = ["train", "metaearth", "--corpus", corpus, "--level", "16m", "--out", tmp_path, "--tile-size", "32",
            "--batch-size", "4", "--epochs", "1"]  # fmt: skip
    assert command(*args) == 0
    last = generators("corrupt").truncate_file(tmp_path / "checkpoints" / "last.ckpt")
    capsys.readouterr()
    assert command(*args) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and f"{last} is damaged" in error and "--overwrite" in error
    assert command(*args, "--overwrite") == 0
    assert torch.load(last, weights_only=True)["epoch"] == 0  # whole again


def test_one_model_for_every_stage_reads_every_level_pair(corpus, capsys):
    from terrasynth.workflows.cli import main
    from terrasynth.workflows.train_metaearth import corpus_cascade

    pairs = corpus_cascade(corpus, "all", chip=32, min_valid_fraction=0.0)
    assert [float(stage[0]["gsd"]) for stage in pairs.stages] == [16.0, 4.0]
    assert len(pairs) == 2 * max(len(stage) for stage in pairs.stages)
    assert [float(pairs[i]["gsd"]) for i in range(4)] == [16.0, 4.0, 16.0, 4.0]
    assert [float(s[0]["gsd"]) for s in corpus_cascade(corpus, "4m,16m", chip=32).stages] == [16.0, 4.0]
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "metaearth", "--corpus", corpus, "--level", "all", "--first-stage", "--out", "x"])
    error = capsys.readouterr().err.strip()
    assert exit_info.value.code == 2 and "next coarser" in error and "\n" not in error


@pytest.mark.parametrize(
    ("name", "recipe"), [("metaearth", "cascade_checkpoint"), ("changen2", "changen2_checkpoint")]
)
def test_train_bundled_checkpoint_runs_its_recipe_into_out_and_work(monkeypatch, tmp_path, name, recipe):
    import importlib

    calls = []
    module = importlib.import_module(f"terrasynth.workflows.{recipe}")
    monkeypatch.setattr(
        module, "train_checkpoint", lambda out, work, progress: calls.append((out, work)) or out
    )
    monkeypatch.setattr("terrasynth.workflows.bundled.say_trained", calls.append)
    result = CliRunner().invoke(app, ["train", f"{name}-checkpoint", "--work", str(tmp_path / "work")])
    assert result.exit_code == 0, result.output
    default = Path("checkpoints", name)
    assert calls == [(default, tmp_path / "work"), default]
    calls.clear()
    result = CliRunner().invoke(app, ["train", f"{name}-checkpoint", "--out", str(tmp_path / "mine")])
    assert result.exit_code == 0 and calls == [(tmp_path / "mine", None), tmp_path / "mine"]
