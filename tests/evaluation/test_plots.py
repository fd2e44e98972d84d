import numpy as np
import pytest
import xarray as xr
from PIL import Image

from terrasynth.evaluation.plots import outcome_map, plot_examples, plot_f1_histogram, plot_precision_recall


def results() -> xr.Dataset:
    thresholds = np.linspace(0, 1, 5)
    return xr.Dataset(
        {
            "scores": ("metric", [0.8, 0.6, 0.69, 0.52]),
            "pr_precision": ("threshold", [0.2, 0.5, 0.8, 0.9, np.nan]),
            "pr_recall": ("threshold", [1.0, 0.9, 0.6, 0.2, 0.0]),
            "image_f1": ("image", [0.1, 0.5, 0.55, np.nan]),
        },
        coords={
            "metric": ["precision", "recall", "f1", "iou"],
            "threshold": thresholds,
            "image": list("abcd"),
        },
    ).expand_dims(model=["zero-shot", "supervised"], dataset=["levir-cd"], split=["test"])


def assert_png(path):
    with Image.open(path) as image:
        assert image.format == "PNG" and min(image.size) > 100


def test_curve_and_histogram_are_written(tmp_path):
    assert_png(plot_precision_recall(results(), tmp_path / "pr.png"))
    assert_png(plot_f1_histogram(results(), tmp_path / "f1.png"))
    assert not list(tmp_path.glob(".*partial"))


def test_examples_figure(tmp_path):
    example = {
        "name": "pair0",
        "image": np.random.default_rng(0).random((2, 3, 16, 16)),
        "mask": np.eye(16, dtype=np.int64),
        "prediction": np.ones((16, 16), dtype=np.int64),
    }
    assert_png(plot_examples([example, example], tmp_path / "examples.png"))


def test_outcome_colours():
    colours = outcome_map(np.array([[0, 0, 1, 1]]), np.array([[0, 1, 0, 1]]))
    assert colours[0].tolist() == [[0, 0, 0], [230, 60, 60], [60, 120, 230], [255, 255, 255]]


def test_image_grid_and_canvas_windows(tmp_path):
    from PIL import Image

    from terrasynth.evaluation import plot_canvas_windows, plot_image_grid

    rng = np.random.default_rng(0)
    small, large = rng.integers(0, 255, (8, 8, 3), np.uint8), rng.integers(0, 255, (32, 32, 3), np.uint8)
    path = plot_image_grid([[small, large], [large, np.zeros((32, 32))]], tmp_path / "grid.png",
                           row_titles=["60m", "4m"], column_titles=["real", "generated"])  # fmt: skip
    assert min(Image.open(path).size) > 300  # two rows and two columns of 3-inch panels
    path = plot_canvas_windows(large, tmp_path / "canvas.png", stride=8, offset=4)
    assert Image.open(path).mode in {"RGBA", "RGB"} and not list(tmp_path.glob(".*partial"))
    with pytest.raises(ValueError, match="no pictures"):
        plot_image_grid([], tmp_path / "none.png")
