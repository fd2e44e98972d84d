import numpy as np
import xarray as xr

from terrasynth.evaluation.change_report import change_report_paths, write_change_report
from terrasynth.evaluation.results import open_results


def results() -> xr.Dataset:
    return xr.Dataset(
        {
            "scores": ("metric", [0.8, 0.6, 0.69, 0.52]),
            "pr_precision": ("threshold", [0.2, 0.8, np.nan]),
            "pr_recall": ("threshold", [1.0, 0.6, 0.0]),
            "image_f1": ("image", [0.1, 0.5]),
        },
        coords={
            "metric": ["precision", "recall", "f1", "iou"],
            "threshold": [0.0, 0.5, 1.0],
            "image": ["a", "b"],
        },
    ).expand_dims(model=["zero-shot", "supervised"], dataset=["levir-cd"], split=["test"])


def test_report_files_are_named_beside_the_results():
    names = [p.name for p in change_report_paths("out/levir.nc", ["zero-shot"])]
    assert names == ["levir.nc", "levir_pr.png", "levir_f1.png", "levir_examples_zero-shot.png"]


def test_report_writes_figures_and_results_and_skips_models_without_examples(tmp_path):
    mask = np.eye(16, dtype=np.int64)
    example = {"name": "pair0", "image": np.full((2, 3, 16, 16), 0.5), "mask": mask, "prediction": 1 - mask}
    written = write_change_report(
        results(), {"zero-shot": [example], "supervised": []}, tmp_path / "levir.nc"
    )
    assert [p.name for p in written] == [
        "levir.nc",
        "levir_pr.png",
        "levir_f1.png",
        "levir_examples_zero-shot.png",
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in written)
    assert open_results(tmp_path / "levir.nc")["model"].values.tolist() == ["zero-shot", "supervised"]
