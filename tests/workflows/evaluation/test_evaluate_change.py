import errno
import json

import numpy as np
import pytest
import torch
import xarray as xr
from typer.testing import CliRunner

from terrasynth.core.errors import WeightsError
from terrasynth.evaluation.binary_change import binary_scores
from terrasynth.evaluation.results import open_results
from terrasynth.models.detector import ChangeDetector
from terrasynth.workflows.cli import app, main
from terrasynth.workflows.evaluate_change import (
    checkpoint_name,
    compare_checkpoints,
    evaluate_change,
)


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    """Two untrained tiny detectors with semantic heads, saved as model folders with the record of
    what they were trained on, as training leaves them."""
    root = tmp_path_factory.mktemp("checkpoints")
    paths = {}
    for seed, name in enumerate(("zero-shot", "supervised")):
        torch.manual_seed(seed)
        model = ChangeDetector(encoder="resnet18", decoder_channels=8, semantic_classes=6)
        paths[name] = root / name / "model"
        model.save_pretrained(paths[name])
        (paths[name] / "training.json").write_text(json.dumps({"trained_on": name}))
    return paths


def test_results_on_full_size_pairs(checkpoints, change_pairs, tmp_path):
    data = change_pairs(count=3, size=80)
    out = tmp_path / "folder.nc"
    results = evaluate_change(
        data, checkpoints["zero-shot"], dataset_name="folder", window=64, overlap=0.5, thresholds=11, out=out
    )
    assert results["scores"].dims == ("model", "dataset", "split", "metric")
    assert results["model"].values.tolist() == ["zero-shot"] and results["split"].values.tolist() == ["test"]
    assert results["image"].values.tolist() == ["pair000", "pair001", "pair002"]
    assert results.attrs["trained_on"] == "zero-shot" and results.attrs["window"] == 64
    confusion = results["confusion"].squeeze(["model", "dataset", "split"])
    assert int(confusion.sum()) == 3 * 80 * 80
    assert int(confusion.sel(truth=1).sum()) == int(sum(s["mask"].sum() for s in data))
    _, fp, fn, tp = confusion.values.ravel()
    f1 = results["scores"].sel(metric="f1").item()
    assert f1 == pytest.approx(float(binary_scores(tp, fp, fn)["f1"]), nan_ok=True)
    assert "semantic_scores" not in results  # these pairs have no semantic labels
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "folder.nc", "folder_examples_zero-shot.png", "folder_f1.png", "folder_pr.png",
    ]  # fmt: skip
    xr.testing.assert_equal(open_results(out).drop_attrs(), results.drop_attrs())


def test_zero_shot_against_supervised_on_semantic_change(checkpoints, change_pairs):
    data = change_pairs(count=2, size=64, semantic=True)
    results = compare_checkpoints(data, checkpoints, dataset_name="second", window=64, thresholds=5)
    assert results["model"].values.tolist() == ["zero-shot", "supervised"]
    semantic = results["semantic_scores"]
    assert semantic.dims == ("model", "dataset", "split", "variant", "semantic_metric")
    assert semantic["variant"].values.tolist() == ["official", "torchange-37"]
    assert np.isfinite(semantic.sel(semantic_metric="miou")).all()
    assert not results["scores"].sel(model="zero-shot").equals(results["scores"].sel(model="supervised"))


def test_checkpoint_names(tmp_path):
    assert checkpoint_name(tmp_path / "zero-shot" / "model") == "zero-shot"
    assert checkpoint_name(tmp_path / "levir_sup") == "levir_sup"


def test_command_with_two_checkpoints_prints_the_gap(checkpoints, change_benchmarks, tmp_path):
    args = ["evaluate", "change", "--dataset", "levir-cd", "--root", str(change_benchmarks["levir-cd"]),
            "--out", str(tmp_path / "levir.nc"), "--window", "64", "--checkpoint", str(checkpoints["zero-shot"]),
            "--checkpoint", str(checkpoints["supervised"])]  # fmt: skip
    result = CliRunner().invoke(app, args, env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "zero-shot - supervised" in result.output and "1 image pairs, 2 model(s)" in result.output
    assert (tmp_path / "levir_pr.png").is_file() and (tmp_path / "levir_examples_supervised.png").is_file()


def test_command_refuses_unknown_layouts_and_missing_checkpoints(change_benchmarks, tmp_path, capsys):
    from terrasynth.workflows.commands.evaluate import change

    with pytest.raises(SystemExit) as exit_info:
        main(["evaluate", "change", "--dataset", "xview", "--root", str(tmp_path), "--checkpoint", str(tmp_path),
              "--out", str(tmp_path / "r.nc")])  # fmt: skip
    code, error = exit_info.value.code, capsys.readouterr().err
    assert code == 2 and error.count("\n") == 1 and "'xview' is not one of 'levir-cd', 's2looking'" in error
    with pytest.raises(WeightsError, match=r"model folder .*none does not exist"):
        change(dataset="levir-cd", root=change_benchmarks["levir-cd"], checkpoint=[tmp_path / "none"],
               out=tmp_path / "r.nc")  # fmt: skip


def _evaluate(capsys, checkpoint, root, out, *extra) -> tuple[int, str]:
    """``terrasynth evaluate change`` on LEVIR-CD with one checkpoint: (exit status, stderr)."""
    args = ["evaluate", "change", "--dataset", "levir-cd", "--root", str(root), "--checkpoint", str(checkpoint),
            "--out", str(out), "--window", "64", *extra]  # fmt: skip
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    return exit_info.value.code, capsys.readouterr().err


@pytest.mark.parametrize("existing", ["levir.nc", "levir_pr.png", "levir_examples_zero-shot.png"])
def test_evaluate_change_refuses_to_overwrite_results_or_figures_before_evaluating(
    checkpoints, change_benchmarks, tmp_path, capsys, monkeypatch, existing
):
    from terrasynth.workflows import evaluate_change as workflow

    (tmp_path / existing).write_text("mine")
    evaluate = workflow._evaluate
    monkeypatch.setattr(workflow, "_evaluate", lambda *a, **k: pytest.fail("evaluated"))
    code, error = _evaluate(
        capsys, checkpoints["zero-shot"], change_benchmarks["levir-cd"], tmp_path / "levir.nc"
    )
    assert code == 2 and error.count("\n") == 1 and f"{existing} exists: pass --overwrite" in error
    assert [p.name for p in tmp_path.iterdir()] == [existing] and (tmp_path / existing).read_text() == "mine"
    monkeypatch.setattr(workflow, "_evaluate", evaluate)
    code, _ = _evaluate(capsys, checkpoints["zero-shot"], change_benchmarks["levir-cd"], tmp_path / "levir.nc",
                        "--overwrite")  # fmt: skip
    assert code == 0 and open_results(tmp_path / "levir.nc")["model"].values.tolist() == ["zero-shot"]


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--window", "0", "--window: Input should be greater than or equal to 1"),
        ("--overlap", "1", "the overlap (--overlap) must be"),
    ],
)
def test_evaluate_change_refuses_a_window_or_overlap_out_of_range(
    checkpoints, change_benchmarks, tmp_path, capsys, option, value, message
):
    code, error = _evaluate(capsys, checkpoints["zero-shot"], change_benchmarks["levir-cd"], tmp_path / "r.nc",
                            option, value)  # fmt: skip
    assert code == 2 and error.count("\n") == 1 and message in error
    assert not list(tmp_path.iterdir())


def test_evaluate_change_into_an_unwritable_place_fails_before_evaluating(
    checkpoints, change_benchmarks, tmp_path, capsys, monkeypatch
):
    from terrasynth.workflows import evaluate_change as workflow

    monkeypatch.setattr(workflow, "_evaluate", lambda *a, **k: pytest.fail("evaluated"))
    (tmp_path / "file").write_text("")
    code, error = _evaluate(
        capsys, checkpoints["zero-shot"], change_benchmarks["levir-cd"], tmp_path / "file" / "r.nc"
    )
    assert code == 2 and "file is a file, so" in error


def test_evaluate_change_on_a_full_disk_leaves_no_results_file(
    checkpoints, change_benchmarks, tmp_path, capsys, monkeypatch
):
    from terrasynth.evaluation import plots

    def full(*_, **__):
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "levir_f1.png"))

    monkeypatch.setattr(plots, "plot_f1_histogram", full)
    code, error = _evaluate(
        capsys, checkpoints["zero-shot"], change_benchmarks["levir-cd"], tmp_path / "levir.nc"
    )
    assert code == 2 and error.count("\n") == 1 and "No space left on device" in error
    assert not (tmp_path / "levir.nc").exists()  # the results file comes last: no report looks complete
    assert not list(tmp_path.glob(".*partial"))
