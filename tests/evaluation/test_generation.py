import dataclasses
import warnings

import pytest
import torch

from terrasynth.core.errors import ConfigError
from terrasynth.evaluation.generation import compare_image_sets, tile_count
from terrasynth.evaluation.image_sets import open_image_set


def colour_statistics(images: torch.Tensor) -> torch.Tensor:
    """A small stand-in encoder: per-band mean and standard deviation."""
    x = images.float() / 255
    return torch.cat([x.mean((2, 3)), x.std((2, 3))], 1)


def test_breakdown_per_level_and_a_far_set_scores_worse(image_sets):
    real = open_image_set(image_sets["real"])
    generated = {name: open_image_set(image_sets[name]) for name in ("generated", "noise")}
    result = compare_image_sets(
        real, generated, encoder=colour_statistics, tile_size=32, kid_subsets=5, kid_subset_size=6
    )
    assert result["distance"].dims == ("model", "level", "landcover", "metric")
    assert list(result["model"].values) == ["generated", "noise"]
    assert list(result["level"].values) == ["all", "16m", "4m"]
    assert list(result["landcover"].values) == ["all"]
    assert result["tiles"].sel(model="noise", set="generated", level="16m", landcover="all").item() == 6
    overall = result["distance"].sel(level="all", landcover="all")
    for metric in ("fid", "kid_mean", "swd"):
        assert overall.sel(model="generated", metric=metric) < overall.sel(model="noise", metric=metric), (
            metric
        )
    assert result["swd"].sizes["scale"] == 2 and list(result["scale"].values) == [32, 16]


def test_same_set_has_zero_fid_and_land_cover_classes_are_broken_out(image_sets):
    corpus = open_image_set(image_sets["corpus.zarr"])
    result = compare_image_sets(
        corpus, {"copy": corpus}, encoder=colour_statistics, tile_size=32, kid_subsets=5, kid_subset_size=4
    )
    assert list(result["landcover"].values) == ["all", "cropland", "tree_cover"]
    fid = result["distance"].sel(model="copy", metric="fid")
    assert fid.sel(level="all", landcover="all").item() == pytest.approx(0, abs=1e-6)
    tiles = result["tiles"].sel(model="copy", set="real")
    assert (
        tiles.sel(level="all", landcover="all")
        == tiles.sel(level="all", landcover=["cropland", "tree_cover"]).sum()
    )
    assert list(result["level"].values) == ["all", "16m", "4m"]  # 60 m: 20 x 28 px, no whole tile
    assert tiles.sel(level="16m", landcover=["cropland", "tree_cover"]).values.tolist() == [4, 2]


def test_weight_free_metrics_and_seams(image_sets):
    real = open_image_set(image_sets["seamless"])
    result = compare_image_sets(
        real,
        {"seamless": real, "seamed": open_image_set(image_sets["seamed"])},
        tile_size=32,
        window_stride=32,
    )
    assert list(result["metric"].values) == ["swd"]
    seam = result["seam"].sel(level="all", seam_metric="energy_ratio")
    assert (seam.sel(model="seamed") > 5 * seam.sel(model="seamless")).all()
    assert tile_count(real, 32) == 16


def test_a_canvas_too_small_for_a_window_cut_leaves_the_seam_scores_of_the_others(image_sets):
    real = open_image_set(image_sets["seamless"])
    seamed = open_image_set(image_sets["seamed"])
    small = dataclasses.replace(seamed[0], name="small", shape=(24, 24))  # no cut at stride 32
    options = {"tile_size": 16, "window_stride": 32}
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # no "mean of empty slice"
        only_small = compare_image_sets(real, {"small": [small]}, **options)["seam"]
        with_small = compare_image_sets(real, {"seamed": [*seamed, small]}, **options)["seam"]
    alone = compare_image_sets(real, {"seamed": seamed}, **options)["seam"]
    assert only_small.isnull().all()
    assert with_small.notnull().any() and with_small.equals(alone)


def test_an_empty_set_is_refused(image_sets):
    real = open_image_set(image_sets["real"])
    with pytest.raises(ConfigError, match="no whole 64 px tile"):
        compare_image_sets(real, {"g": real}, tile_size=64)
