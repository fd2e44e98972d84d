"""The demo end to end at a tiny scale: every step runs, the report's numbers are the run's."""

import json
import math
import re

import numpy as np
import pytest
import xarray as xr
from PIL import Image

from terrasynth.core import corpus_regions, open_corpus
from terrasynth.workflows.cli import main
from terrasynth.workflows.demo import DemoSettings, detector_settings, run_demo, steps

TINY = DemoSettings(
    area=1000.0, tile_size=32, chip=16, cascade_epochs=1, cascade_steps=2, cascade_batch=4, canvas=64,
    canvas_16m=32, steps=2, change_gsd=2.0, change_area=128.0, changen2_chip=32, changen2_epochs=1, changen2_steps=2,
    synthetic_pairs=8, synthesis_steps=2, pair_size=32,
    benchmark_pairs={"train": 4, "val": 1, "test": 2}, detector_steps=4, detector_batch=2,
)  # fmt: skip


@pytest.fixture(scope="module", params=["from scratch", "bundled"])
def demo(request, tmp_path_factory):
    started = []
    run = run_demo(
        tmp_path_factory.mktemp("demo") / "out", seed=3, scale=TINY, from_scratch=request.param == "from scratch",
        on_step=lambda name, number, total: started.append((name, number, total)),
    )  # fmt: skip
    return run, started


def test_every_step_runs_in_order(demo):
    run, started = demo
    names = [name for name, _ in steps(run)]
    assert started == [(name, number, len(names)) for number, name in enumerate(names, start=1)]
    assert list(run.steps) == names
    assert all(seconds >= 0 for seconds in run.steps.values())


def test_results_hold_generation_and_change_metrics(demo):
    run, _ = demo
    change = xr.open_dataset(run.results_file, group="change")
    generation = xr.open_dataset(run.results_file, group="generation")
    assert set(change["model"].values) == {"zero-shot", "supervised"}
    f1 = change["scores"].sel(metric="f1")
    assert np.all((f1 >= 0) & (f1 <= 1))
    assert {"16m", "4m"} <= set(generation["level"].values)
    assert set(generation["model"].values) == {"cascade", "bicubic"}  # the baseline of every level
    assert np.isfinite(generation["seam"].sel(level="4m")).all()
    assert np.isfinite(generation["condition_error"].sel(level=["16m", "4m"])).all()
    assert not run.path("report", "change.nc").exists()  # folded into results.nc


def test_report_numbers_come_from_the_results(demo):
    run, _ = demo
    report = run.report.read_text()
    scores = xr.open_dataset(run.results_file, group="change")["scores"]
    f1 = scores.sel(metric="f1").squeeze(drop=True)
    sentence = re.search(r"Zero-shot F1 is (\S+) against (\S+)", report)
    assert float(sentence[1]) == pytest.approx(float(f1.sel(model="zero-shot")), abs=5e-4)
    assert float(sentence[2]) == pytest.approx(float(f1.sel(model="supervised")), abs=5e-4)
    for figure in re.findall(r"\]\(([^)]+\.png)\)", report):
        with Image.open(run.path("report", figure)) as image:
            assert min(image.size) > 50, figure


def test_the_report_says_which_models_were_used_and_how_they_were_trained(demo):
    run, _ = demo
    report = run.report.read_text()
    if run.checkpoints is None:
        assert "was trained in this run" in report and "bundled" not in report
        assert (
            run.path("models", "metaearth", "model").is_dir()
            and run.path("models", "changen2", "model").is_dir()
        )
    else:
        for name in ("metaearth", "changen2"):
            assert f"trained from scratch by `terrasynth train {name}-checkpoint`" in report
        assert not run.path("models", "metaearth").exists() and not run.path("models", "changen2").exists()


def test_missing_bundled_checkpoints_are_refused_saying_how_to_make_them(tmp_path):
    from terrasynth.core.errors import WeightsError
    from terrasynth.workflows.demo import check_checkpoints

    (tmp_path / "metaearth").mkdir()
    (tmp_path / "metaearth" / "config.json").write_text("{}")
    with pytest.raises(WeightsError, match=r"changen2-checkpoint .*or `terrasynth demo --from-scratch`"):
        check_checkpoints(tmp_path)


def test_change_data_comes_from_the_edges_of_several_towns(demo):
    # one town's edge gave the zero-shot detector too narrow a training set (issue 13)
    run, _ = demo
    assert run.settings.change_towns > 1
    assert len(corpus_regions(open_corpus(run.change_corpus))) == run.settings.change_towns


def test_both_detectors_train_for_the_same_optimizer_steps(demo):
    # 8 synthesized pairs against 4 benchmark pairs: equal epochs would train the zero-shot one twice as long
    run, _ = demo
    for name in ("zero-shot", "supervised"):
        record = json.loads(run.path("models", f"detector-{name}", "model", "training.json").read_text())
        batches = math.ceil(record["samples"] / record["settings"]["batch_size"])
        assert record["epochs"] * batches == run.settings.detector_steps


def test_detectors_keep_their_weights_average_and_are_seeded_by_the_run_unless_given_a_seed():
    # 5 pairs in batches of 2 are 3 steps per pass: 2 passes give the 4 steps asked for
    trained = detector_settings(TINY, samples=5, seed=3)
    assert trained.model_dump(include={"seed", "epochs", "ema_decay"}) == {
        "seed": 3, "epochs": 2, "ema_decay": TINY.detector_ema,
    }  # fmt: skip
    assert TINY.detector_ema is not None  # the last weights of a constant rate spread too far (issue 13)
    own = TINY.model_copy(update={"detector_seed": 7, "detector_ema": None})
    assert detector_settings(own, samples=5, seed=3).model_dump(include={"seed", "ema_decay"}) == {
        "seed": 7, "ema_decay": None,
    }  # fmt: skip


def test_generated_canvas_is_georeferenced_at_4m(demo):
    import rasterio

    run, _ = demo
    with rasterio.open(run.path("canvas", "4m.tif")) as canvas:
        assert canvas.shape == (TINY.canvas, TINY.canvas)
        assert canvas.res == (4.0, 4.0)
        assert canvas.crs is not None
        assert np.isfinite(canvas.read()).all()


def test_each_level_is_scored_against_the_real_tiles_of_its_canvas_ground(demo):
    import rasterio
    from pyproj import Transformer

    run, _ = demo
    with rasterio.open(run.path("canvas", "16m.tif")) as coarse:
        assert coarse.shape == (TINY.canvas_16m, TINY.canvas_16m)  # beyond the 4 m canvas' footprint
    with rasterio.open(run.path("canvas", "4m.tif")) as fine:
        # the 4 m canvas' ground is centred on the settings' centre, up to the grids' 240 m pitch
        x, y = Transformer.from_crs("EPSG:4326", fine.crs, always_xy=True).transform(*TINY.centre)
        left, bottom, right, top = fine.bounds
        assert abs((left + right) / 2 - x) < 240 and abs((bottom + top) / 2 - y) < 240
    tiles = run.results["generation"]["tiles"].sel(model="cascade", set="real", landcover="all")
    tree = open_corpus(run.path("corpus.zarr"))
    for level, size in (("16m", TINY.canvas_16m), ("4m", TINY.canvas)):
        # the whole valid tiles of the corpus under the canvas (from the grid's corner), of all its 1 km
        valid = tree[f"{corpus_regions(tree)[0]}/{level}"]["valid"].values
        under = valid[:size, :size].reshape(size // TINY.chip, TINY.chip, size // TINY.chip, TINY.chip)
        assert valid.shape[0] > size and int(tiles.sel(level=level)) == under.all(axis=(1, 3)).sum() > 0


@pytest.mark.parametrize(
    ("sizes", "message"),
    [
        ({"canvas": 480, "canvas_16m": 100}, "must cover the 4 m one"),
        ({"area": 2000.0, "canvas_16m": 240}, "reaches past the 2000 m area"),
    ],
)
def test_settings_refuse_a_16m_canvas_that_does_not_fit(sizes, message):
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match=message):
        DemoSettings(**sizes)


@pytest.mark.parametrize(
    ("extra", "message"), [([], "is not empty"), (["--scale", "huge"], "Invalid value for '--scale'")]
)
def test_command_refuses_a_used_folder_and_an_unknown_scale(tmp_path, capsys, extra, message):
    (tmp_path / "kept.txt").write_text("mine")
    with pytest.raises(SystemExit) as exit_info:
        main(["demo", "--out", str(tmp_path), *extra])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err
    assert [path.name for path in tmp_path.iterdir()] == ["kept.txt"]


@pytest.mark.parametrize(
    ("make", "extra", "message"),
    [
        (lambda tmp: (tmp / "weights.pth").write_bytes(b"fake"), ["--inception", "weights.pth"],
         "weights.pth is not pt_inception-2015-12-05-6726825d.pth"),
        (lambda tmp: None, ["--inception", "missing.pth"], "missing.pth not found"),
        (lambda tmp: (tmp / "file").write_text(""), ["--out", "file"], "file is a file: give a folder"),
    ],
)  # fmt: skip
def test_demo_refuses_fake_inception_weights_and_an_unusable_folder_before_step_one(
    tmp_path, capsys, monkeypatch, make, extra, message
):
    from terrasynth.workflows import demo

    monkeypatch.setattr(demo, "steps", lambda run: [("a step", lambda run: pytest.fail("the demo started"))])
    make(tmp_path)
    args = ["demo", "--out", str(tmp_path / "out"), *extra]
    args = [str(tmp_path / a) if a in ("weights.pth", "missing.pth", "file") else a for a in args]
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    error = capsys.readouterr().err
    assert exit_info.value.code == 2 and error.count("\n") == 1 and message in error
    assert not (tmp_path / "out").exists()


def test_the_science_benchmark_reads_its_figures_from_the_run(demo):
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "benchmarks" / "demo_science.py"
    spec = importlib.util.spec_from_file_location("demo_science", path)
    benchmark = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(benchmark)
    run, _ = demo
    figures = benchmark.figures(run)
    f1 = run.results["change"]["scores"].sel(metric="f1").squeeze(drop=True)
    assert figures["zero_shot_f1"] == pytest.approx(
        float(f1.sel(model="zero-shot")), abs=1e-4
    )  # rounded to 4
    swd = run.results["generation"]["distance"].sel(metric="swd", landcover="all", level="4m")
    assert figures["4m"]["swd_bicubic"] == pytest.approx(float(swd.sel(model="bicubic")), abs=0.01)
    assert figures["4m"]["swd_ratio"] == pytest.approx(
        float(swd.sel(model="cascade") / swd.sel(model="bicubic")), abs=1e-4
    )
    assert figures["seconds"]["total"] == pytest.approx(sum(run.steps.values()), abs=0.1)


def test_the_canvas_keeps_the_layout_of_its_input(demo):
    run, _ = demo
    if run.checkpoints is None:
        pytest.skip("models trained for two optimizer steps are no measure of the layout")
    rmse = run.results["generation"]["condition_error"].sel(condition_metric="rmse", level="4m")
    # seed 3, bundled model: 1.23 x bicubic's error with the layout kept, 1.60 without
    assert rmse.sel(model="cascade") < 1.4 * rmse.sel(model="bicubic")
