"""`terrasynth train metaearth` on a synthetic-world corpus, through torchgeo's grid sampler."""

import json

import pytest
import torch
from typer.testing import CliRunner

from terrasynth.core import ConfigError
from terrasynth.ingest.synthetic import SyntheticSource
from terrasynth.workflows.cli import app
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
    args = ["train", "metaearth", "--corpus", corpus, "--level", "16m", "--out", str(out), "--chip", "32",
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
