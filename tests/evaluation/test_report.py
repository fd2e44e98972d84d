"""The demo's Markdown report, from results Datasets: its numbers are the results'."""

import json
import re
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import xarray as xr

from terrasynth.evaluation.report import demo_report

SETTINGS = SimpleNamespace(
    area=1000.0, date="2021-06-01", canvas=64, canvas_16m=32, chip=16, noise="field", solver="ddim", solver_16m="dpm++", steps=10,
    strength=0.4,
    keep_layout=True,
    preset="tiny", cascade_epochs=1, cascade_steps=2, cascade_batch=4, change_area=128.0, change_towns=2,
    change_gsd=2.0,
    changen2_preset="tiny", changen2_epochs=1, changen2_steps=2, synthetic_pairs=4, pair_size=32,
    synthesis_steps=2, benchmark_pairs={"train": 4, "val": 1, "test": 2}, detector_encoder="resnet18",
    detector_steps=2, detector_batch=2, detector_schedule="cosine", detector_ema=None,
)  # fmt: skip
FIGURES = {name: f"/run/report/{name}.png" for name in ("levels", "canvas", "pairs")}


def _results():
    levels, models = ["60m", "16m", "4m"], ["cascade", "bicubic"]
    generation = xr.Dataset(
        {
            "distance": (("model", "level", "metric"), np.arange(6.0).reshape(2, 3, 1)),
            "seam": (("model", "level", "seam_metric"), np.full((2, 3, 1), 1.06)),
            "condition_error": (("model", "level", "condition_metric"), np.full((2, 3, 1), 0.01)),
        },
        coords={"model": models, "level": levels, "metric": ["swd"], "seam_metric": ["energy_ratio"],
                "condition_metric": ["mae"]},
    )  # fmt: skip
    change = xr.Dataset(
        {"scores": (("model", "dataset", "split", "metric"), [[[[0.61, 0.44]]], [[[0.72, 0.56]]]])},
        coords={"model": ["zero-shot", "supervised"], "dataset": ["synthetic-levir"], "split": ["test"],
                "metric": ["f1", "iou"]},
    )  # fmt: skip
    return {"generation": generation, "change": change}


def _report(checkpoints=None, settings=SETTINGS):
    return demo_report(
        _results(), settings=settings, seed=3, steps={"ingest": 2.4, "train": 10.2},
        figures={name: Path(path) for name, path in FIGURES.items()},
        checkpoints=checkpoints,
    )  # fmt: skip


def test_the_report_numbers_come_from_the_results():
    report = _report()
    sentence = re.search(r"Zero-shot F1 is (\S+) against (\S+)", report)
    assert (float(sentence[1]), float(sentence[2])) == (0.61, 0.72)
    assert "| f1 | 0.6100 | 0.7200 | -0.1100 |" in report
    assert "| **total** | **13** |" in report and "seed 3" in report
    assert "SWD only: FID needs --inception" in report
    assert "![Synthesized pairs: date 1, date 2 and the change between them](pairs.png)" in report
    assert "was trained in this run" in report and "bundled" not in report


def test_the_report_says_what_the_seam_scores_compare():
    words = " ".join(_report().split())
    assert "at 16 m the 60 m input's grid, which repeats every 15 pixels" in words
    assert "at 4 m the 16 m canvas' grid, every 4 pixels" in words
    assert "4 per axis at 16 m and 8 at 4 m" in words  # a 32 and a 64 px canvas cut every 8 px from 4


def test_the_report_says_how_bundled_checkpoints_were_trained(tmp_path):
    for name in ("metaearth", "changen2"):
        (tmp_path / name).mkdir()
        record = {"command": f"terrasynth train {name}-checkpoint", "optimizer_steps": 900, "seconds": 600,
                  "settings": {"batch_size": 8}, "world": {"seed": 0}, "threads": 2, "software_version": "1.0"}  # fmt: skip
        (tmp_path / name / "training.json").write_text(json.dumps(record))
    report = _report(tmp_path)
    for name in ("metaearth", "changen2"):
        assert f"trained from scratch by `terrasynth train {name}-checkpoint`: 900 optimizer steps" in report
    with pytest.raises(FileNotFoundError):
        _report(tmp_path / "missing")


def test_the_report_names_each_stages_solver(monkeypatch):
    assert "with dpm++ at 16 m and ddim at 4 m over 10 steps" in " ".join(_report().split())
    monkeypatch.setattr(SETTINGS, "solver_16m", "ddim")
    assert "with ddim over 10 steps" in " ".join(_report().split())


def test_the_report_says_whether_windows_kept_their_layout(monkeypatch):
    words = " ".join(_report().split())
    assert (
        "Each window then keeps its condition's layout: averaged onto the condition's pixels it gives the "
        "condition back (8 passes of back-projection" in words
    )
    monkeypatch.setattr(SETTINGS, "keep_layout", False)
    assert "keeps its condition's layout" not in _report()


def test_the_report_says_how_the_detectors_were_trained():
    decayed = "(batches of 2, the learning rate decayed to 0 on a cosine)"
    assert decayed in _report()
    averaged = SimpleNamespace(**{**vars(SETTINGS), "detector_schedule": "constant", "detector_ema": 0.99})
    assert "(batches of 2, keeping the moving average of their weights (decay 0.99))" in _report(
        settings=averaged
    )
    last = SimpleNamespace(**{**vars(SETTINGS), "detector_schedule": "constant"})
    assert "(batches of 2)" in _report(settings=last)
