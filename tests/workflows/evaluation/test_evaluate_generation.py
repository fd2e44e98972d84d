import os
import shutil
import subprocess

import numpy as np
import pytest

from terrasynth.evaluation.inception import INCEPTION_FILE
from terrasynth.evaluation.results import open_results
from terrasynth.workflows.cli import main
from terrasynth.workflows.evaluate_generation import evaluate_generation


def test_library_call_compares_several_sets(image_sets):
    results = evaluate_generation(
        image_sets["real"], [image_sets["generated"], image_sets["noise"]], tile_size=32, encoder=lambda x: x.float().mean((2, 3)),
        encoder_name="colour-means",
    )  # fmt: skip
    assert results["model"].values.tolist() == ["generated", "noise"]
    assert results.attrs["encoder"] == "colour-means"
    swd = results["distance"].sel(level="all", landcover="all", metric="swd")
    assert swd.sel(model="generated") < swd.sel(model="noise")


def test_command_end_to_end(image_sets, tmp_path):
    script = shutil.which("terrasynth")
    out = tmp_path / "generation.nc"
    args = [script, "evaluate", "generation", "--real", str(image_sets["seamless"]), "--generated",
            str(image_sets["seamed"]), "--out", str(out), "--tile-size", "32", "--window-stride", "32"]  # fmt: skip
    result = subprocess.run(
        args, capture_output=True, text=True, timeout=600, env={**os.environ, "COLUMNS": "160"}
    )
    assert result.returncode == 0, result.stderr
    assert "FID and KID are skipped" in result.stdout and "seam" in result.stdout and "wrote" in result.stdout
    results = open_results(out)
    assert results["seam"].sel(model="seamed", level="all", axis="x", seam_metric="energy_ratio") > 5
    assert np.isnan(results["swd"]).sum() == 0


def test_command_with_a_missing_inception_file_fails_in_one_line(image_sets, tmp_path):
    script = shutil.which("terrasynth")
    args = [script, "evaluate", "generation", "--real", str(image_sets["real"]), "--generated",
            str(image_sets["generated"]), "--out", str(tmp_path / "x.nc"), "--inception", str(tmp_path)]  # fmt: skip
    result = subprocess.run(args, capture_output=True, text=True, timeout=600)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and INCEPTION_FILE in result.stderr
    assert not (tmp_path / "x.nc").exists()


def _evaluate(capsys, image_sets, out, *extra) -> tuple[int, str]:
    args = ["evaluate", "generation", "--real", str(image_sets["real"]), "--generated",
            str(image_sets["generated"]), "--out", str(out), *extra]  # fmt: skip
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    return exit_info.value.code, capsys.readouterr().err


def test_evaluate_generation_refuses_to_overwrite_results(image_sets, tmp_path, capsys):
    (tmp_path / "generation.nc").write_text("mine")
    code, error = _evaluate(capsys, image_sets, tmp_path / "generation.nc", "--tile-size", "32")
    assert code == 2 and error.count("\n") == 1 and "generation.nc exists: pass --overwrite" in error
    assert (tmp_path / "generation.nc").read_text() == "mine"
    code, _ = _evaluate(capsys, image_sets, tmp_path / "generation.nc", "--tile-size", "32", "--overwrite")
    assert code == 0 and open_results(tmp_path / "generation.nc")["model"].values.tolist() == ["generated"]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            ["--tile-size", "0"],
            "--tile-size: Input should be greater than or equal to 16",
        ),
        (
            ["--tile-size", "4096"],
            "holds no whole 4096 px tile: its images are at most 32 px on their short side",
        ),
        (["--window-stride", "-5"], "--window-stride: Input should be greater than or equal to 0"),
        (
            ["--tile-size", "32", "--window-stride", "1"],
            "the window stride (--window-stride) must be at least 2",
        ),
    ],
)
def test_evaluate_generation_refuses_tile_sizes_and_strides_out_of_range(
    image_sets, tmp_path, capsys, extra, message
):
    code, error = _evaluate(capsys, image_sets, tmp_path / "generation.nc", *extra)
    assert code == 2 and error.count("\n") == 1 and message in error
    assert not list(tmp_path.iterdir())


def _copied_condition(generators, folder):
    """``folder/input-16m.tif`` (16 x 16 px) and, in ``generated/`` and ``real/``, a 4 m canvas
    holding every 16 m pixel copied onto 4 x 4 (the real one with some texture added)."""
    import rasterio

    generators("coarse_geotiff").write_coarse_geotiff(folder / "input-16m.tif", rows=16, cols=16, gsd=16.0)
    with rasterio.open(folder / "input-16m.tif") as source:
        low, profile = source.read(), source.profile
    transform = profile["transform"] @ rasterio.Affine.scale(0.25)
    for name, extra in (("generated", 0), ("real", 1)):
        image = np.kron(low, np.ones((1, 4, 4), np.uint16))
        image[:, ::2, ::3] += extra * 400
        (folder / name).mkdir()
        with rasterio.open(
            folder / name / "4m.tif", "w", **profile | {"width": 64, "height": 64, "transform": transform}
        ) as dst:
            dst.write(image)


def test_a_bicubic_baseline_and_the_error_against_the_condition_sit_beside_the_generated_sets(
    generators, tmp_path
):
    import rasterio

    from terrasynth.workflows.evaluate_generation import bicubic_baseline

    _copied_condition(generators, tmp_path)
    results = evaluate_generation(
        tmp_path / "real", [tmp_path / "generated"], tile_size=32, condition=tmp_path / "input-16m.tif"
    )
    assert results["model"].values.tolist() == ["generated", "bicubic"]
    assert results["tiles"].sel(model="bicubic", set="generated", level="4m", landcover="all") == 4
    error = results["condition_error"].sel(level="4m")
    assert error.sel(model="generated", condition_metric="rmse") == 0  # averaged back, it is the input
    assert 0 < error.sel(model="bicubic", condition_metric="relative_rmse") < 0.1
    out = bicubic_baseline(tmp_path / "input-16m.tif", [tmp_path / "generated"], tmp_path / "baseline")
    with (
        rasterio.open(out / "4m.tif") as baseline,
        rasterio.open(tmp_path / "generated" / "4m.tif") as generated,
    ):
        assert baseline.transform == generated.transform and baseline.shape == generated.shape


def test_seam_scores_compare_the_cuts_with_the_columns_at_their_phase_of_the_condition_grid(
    generators, tmp_path
):
    # no windows at all; every step of the 4 m canvas sits on the 16 m pixels' edges (every 4 px),
    # as do the cuts (8, 24, 40, 56)
    _copied_condition(generators, tmp_path)
    options = {"tile_size": 32, "window_stride": 16, "window_offset": 8}
    matched = evaluate_generation(
        tmp_path / "real", [tmp_path / "generated"], condition=tmp_path / "input-16m.tif", **options
    )
    plain = evaluate_generation(tmp_path / "real", [tmp_path / "generated"], **options)
    assert matched.attrs["seam_condition_gsds"] == {"4m": 16.0}
    assert plain.attrs["seam_condition_gsds"] == {}
    ratio = matched["seam"].sel(model="generated", level="4m", seam_metric="energy_ratio")
    assert np.allclose(ratio, 1.0, atol=0.1)  # x and y
    assert (plain["seam"].sel(level="4m", seam_metric="energy_ratio") > 3).all()


def test_each_level_is_taken_to_be_generated_from_the_next_coarser():
    from terrasynth.workflows.evaluate_generation import cascade_conditions

    assert cascade_conditions(["4m", "all", "60m", "16m"]) == {"16m": 60.0, "4m": 16.0}
    assert cascade_conditions(["16m", "4m"], 60.0) == {"16m": 60.0, "4m": 16.0}
    assert cascade_conditions(["60m", "16m"], 60.0) == {"16m": 60.0}
    assert cascade_conditions(["4m"]) == {}


def test_real_tiles_can_be_taken_from_the_canvases_ground_only(image_sets, tmp_path):
    import rasterio

    from terrasynth.core import open_corpus
    from terrasynth.core.errors import ConfigError

    corpus = image_sets["corpus.zarr"]
    image = open_corpus(corpus)["r00_utm32n/16m"].to_dataset()
    canvas = tmp_path / "generated" / "16m.tif"
    canvas.parent.mkdir()
    image["image"].isel(y=slice(0, 32), x=slice(32, 96)).rio.write_crs(image.rio.crs).rio.to_raster(canvas)
    options = {"tile_size": 32, "seed": 0}
    everywhere = evaluate_generation(corpus, [canvas.parent], **options)
    under = evaluate_generation(corpus, [canvas.parent], real_under_canvases=True, **options)

    def real_tiles(results):
        return int(results["tiles"].sel(model="generated", set="real", level="16m", landcover="all"))

    assert real_tiles(under) == 2 and real_tiles(everywhere) > 2  # the two tiles of the canvas' ground
    assert set(under["level"].values) == {"all", "16m"}  # the corpus' other levels are under no canvas
    out = tmp_path / "under.nc"
    with pytest.raises(SystemExit) as exit_info:
        main(["evaluate", "generation", "--real", str(corpus), "--generated", str(canvas.parent), "--out", str(out),
              "--tile-size", "32", "--real-under-canvases"])  # fmt: skip
    assert exit_info.value.code == 0
    assert real_tiles(open_results(out)) == 2

    with rasterio.open(canvas, "r+") as moved:  # 100 km away
        moved.transform = moved.transform @ rasterio.Affine.translation(0, 100_000 / 16)
    with pytest.raises(ConfigError, match=r"has no pixels under the generated 16m canvases"):
        evaluate_generation(corpus, [canvas.parent], real_under_canvases=True, **options)


def test_the_condition_beside_its_canvases_is_not_scored_as_one_of_them(generators, tmp_path):
    _copied_condition(generators, tmp_path)
    shutil.move(tmp_path / "input-16m.tif", tmp_path / "generated" / "input-16m.tif")
    results = evaluate_generation(
        tmp_path / "real",
        [tmp_path / "generated"],
        tile_size=16,
        condition=tmp_path / "generated" / "input-16m.tif",
    )
    generated = results["tiles"].sel(set="generated", landcover="all")
    assert "16m" not in results["level"].values or int(generated.sel(model="generated", level="16m")) == 0
    assert int(generated.sel(model="generated", level="all")) == 16  # the 4 m canvas' 16 tiles only

    from terrasynth.core.errors import ConfigError

    (tmp_path / "generated" / "4m.tif").unlink()
    with pytest.raises(ConfigError, match=r"holds no image but the condition"):
        evaluate_generation(
            tmp_path / "real", [tmp_path / "generated"], condition=tmp_path / "generated" / "input-16m.tif"
        )
