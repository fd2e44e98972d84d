import numpy as np
import pytest
import xarray as xr
from rich.console import Console

from terrasynth.core.errors import CorpusError
from terrasynth.evaluation.results import load_results, open_results, results_table, save_results


def change_result(model: str, dataset: str, f1: float) -> xr.Dataset:
    metrics = ["precision", "recall", "f1", "iou"]
    scores = np.array([0.8, 0.7, f1, f1 / (2 - f1)])
    return xr.Dataset(
        {
            "scores": ("metric", scores),
            "pr_precision": ("threshold", np.linspace(0.5, 1.0, 3)),
            "image_f1": ("image", [f1, np.nan]),
        },
        coords={"metric": metrics, "threshold": [0.0, 0.5, 1.0], "image": [f"{dataset}_1", f"{dataset}_2"]},
        attrs={"detector": {"encoder": "resnet18"}, "overlap": 0.25, "calibrated": True, "checkpoint": model},
    ).expand_dims(model=[model], dataset=[dataset], split=["test"])


def test_round_trip_through_netcdf(tmp_path):
    result = change_result("zero-shot", "levir-cd", 0.75)
    path = save_results(result, tmp_path / "r.nc")
    assert not list(tmp_path.glob(".*partial"))
    again = open_results(path)
    xr.testing.assert_identical(again.drop_attrs(), result.drop_attrs())
    assert again.attrs["detector"] == '{"encoder": "resnet18"}' and again.attrs["calibrated"] == "true"
    assert again.attrs["overlap"] == 0.25


def test_several_files_load_as_one_dataset(tmp_path):
    paths = [
        save_results(change_result("zero-shot", "levir-cd", 0.7), tmp_path / "a.nc"),
        save_results(change_result("supervised", "levir-cd", 0.9), tmp_path / "b.nc"),
        save_results(change_result("zero-shot", "second", 0.5), tmp_path / "c.nc"),
    ]
    merged = load_results(paths)
    assert merged["scores"].dims == ("model", "dataset", "split", "metric")
    assert sorted(merged["model"].values) == ["supervised", "zero-shot"]
    f1 = merged["scores"].sel(metric="f1", split="test")
    assert f1.sel(model="supervised", dataset="levir-cd").item() == 0.9
    assert f1.sel(model="zero-shot", dataset="second").item() == 0.5
    assert np.isnan(f1.sel(model="supervised", dataset="second").item())
    assert "checkpoint" not in merged.attrs and merged.attrs["overlap"] == 0.25


def test_conflicting_files_are_refused(tmp_path):
    a = save_results(change_result("m", "levir-cd", 0.7), tmp_path / "a.nc")
    b = save_results(change_result("m", "levir-cd", 0.8), tmp_path / "b.nc")
    with pytest.raises(CorpusError, match="disagree"):
        load_results(a, b)
    with pytest.raises(CorpusError, match="does not exist"):
        load_results(tmp_path / "missing.nc")


def test_table_with_a_gap_column():
    merged = xr.concat(
        [change_result("zero-shot", "levir-cd", 0.7), change_result("supervised", "levir-cd", 0.9)],
        dim="model",
    )
    table = results_table(merged["scores"], gap=True, title="scores")
    assert [c.header for c in table.columns] == [
        "dataset", "split", "metric", "zero-shot", "supervised", "zero-shot - supervised",
    ]  # fmt: skip
    assert table.row_count == 4
    console = Console(width=200, record=True)
    console.print(table)
    text = console.export_text()
    assert "0.7000" in text and "-0.2000" in text


def test_groups_hold_results_that_do_not_line_up(tmp_path):
    change = xr.Dataset(
        {"scores": ("metric", [0.5, 0.25])}, coords={"metric": ["f1", "iou"]}, attrs={"ok": True}
    )
    generation = xr.Dataset({"seam": ("level", [1.1])}, coords={"level": ["4m"]})
    path = save_results({"change": change, "generation": generation}, tmp_path / "results.nc")
    assert open_results(path, "change")["scores"].sel(metric="iou").item() == 0.25
    assert open_results(path, "change").attrs["ok"] == "true"
    xr.testing.assert_identical(open_results(path, "generation"), generation)
    with pytest.raises(CorpusError, match="group 'nothing'"):
        open_results(path, "nothing")


def test_markdown_table_matches_the_rich_one():
    from terrasynth.evaluation.results import results_markdown

    scores = xr.DataArray(
        [[0.8, 0.6], [np.nan, np.nan]], dims=("metric", "model"),
        coords={"metric": ["f1", "iou"], "model": ["zero-shot", "supervised"]}, name="scores",
    )  # fmt: skip
    assert results_markdown(scores, gap=True).splitlines() == [
        "| metric | zero-shot | supervised | zero-shot - supervised |",
        "|---|---:|---:|---:|",
        "| f1 | 0.8000 | 0.6000 | 0.2000 |",
    ]
