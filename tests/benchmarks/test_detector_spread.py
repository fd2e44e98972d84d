"""The detector-spread benchmark's figures: F1s read from the demo's results, spread over seeds."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

PATH = Path(__file__).resolve().parents[2] / "benchmarks" / "detector_spread.py"
spec = importlib.util.spec_from_file_location("detector_spread", PATH)
benchmark = importlib.util.module_from_spec(spec)
spec.loader.exec_module(benchmark)


def change_results(zero_shot: float, supervised: float) -> xr.Dataset:
    """Change results shaped as the demo's: scores (model, dataset, split, metric)."""
    scores = np.zeros((2, 1, 1, 4))
    scores[:, 0, 0, 2] = zero_shot, supervised
    coords = {"model": ["zero-shot", "supervised"], "dataset": ["synthetic-levir"], "split": ["test"],
              "metric": ["precision", "recall", "f1", "iou"]}  # fmt: skip
    return xr.Dataset({"scores": (("model", "dataset", "split", "metric"), scores)}, coords=coords)


def test_figures_are_both_f1s_and_their_ratio():
    figures = benchmark.change_figures(change_results(0.72, 0.8))
    assert figures == {"zero_shot_f1": 0.72, "supervised_f1": 0.8, "f1_ratio": 0.9}
    assert benchmark.change_figures(change_results(0.5, 0.0))["f1_ratio"] is None


def test_spread_is_mean_sample_std_and_range_over_seeds():
    trials = [{"f1": 0.70}, {"f1": 0.80}, {"f1": 0.75}, {"f1": None}]  # None: no ratio for that seed
    spread = benchmark.spread(trials, "f1")
    assert spread["mean"] == pytest.approx(0.75)
    assert spread["std"] == pytest.approx(0.05)  # sqrt((0.05^2 + 0.05^2 + 0) / 2)
    assert spread["range"] == pytest.approx(0.10)
    assert benchmark.spread(trials[:1], "f1") == {"mean": None, "std": None, "range": None}
