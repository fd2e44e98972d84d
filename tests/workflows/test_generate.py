import numpy as np
import pytest
import rasterio
import torch
from typer.testing import CliRunner

from terrasynth.models.metaearth import build_denoiser
from terrasynth.workflows.cli import app, main
from terrasynth.workflows.generate import generate

torch.set_num_threads(1)  # tiny models on a shared CI machine
SMALL = {
    "block_out_channels": (16, 32), "attention_levels": (False, False), "norm_num_groups": 8,
    "encoder_features": 8, "encoder_blocks": 1, "encoder_growth": 8, "window": 16, "channels": 3,
}  # fmt: skip


@pytest.fixture(scope="module")
def coarse_geotiff(generators):
    return generators("coarse_geotiff")


@pytest.fixture(scope="module")
def stages(tmp_path_factory):
    folder = tmp_path_factory.mktemp("stages")
    torch.manual_seed(0)
    build_denoiser("tiny", **SMALL, gsd=16.0, condition_gsd=None).save_pretrained(folder / "first")
    build_denoiser("tiny", **SMALL, gsd=4.0, condition_gsd=16.0).save_pretrained(folder / "upscaler")
    build_denoiser(
        "tiny", **SMALL, gsd=16.0, condition_gsd=None, landcover_codes=[10, 30, 80]
    ).save_pretrained(folder / "first-landcover")
    both = build_denoiser("tiny", **SMALL, gsd=4.0, condition_gsd=16.0, pairs=[[16, 64], [4, 16]])
    both.save_pretrained(folder / "both")
    return folder


def test_cli_writes_a_georeferenced_geotiff_from_a_coarse_geotiff(stages, coarse_geotiff, tmp_path):
    coarse_geotiff.write_coarse_geotiff(tmp_path / "coarse.tif", rows=6, cols=5, gsd=16.0)
    out = tmp_path / "out" / "canvas.tif"
    args = ["generate", "--checkpoint", str(stages / "upscaler"), "--from", str(tmp_path / "coarse.tif"),
            "--out", str(out), "--steps", "2", "--batch-size", "4", "--seed", "3"]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "Wrote" in result.output and "EPSG:32632" in result.output
    with rasterio.open(out) as canvas, rasterio.open(tmp_path / "coarse.tif") as source:
        assert (canvas.count, canvas.height, canvas.width) == (3, 24, 20)  # the footprint at 4 m
        assert canvas.crs == source.crs and canvas.dtypes[0] == "uint16" and canvas.scales[0] == 1e-4
        assert canvas.transform.to_gdal() == (source.transform.c, 4.0, 0.0, source.transform.f, 0.0, -4.0)
        assert canvas.bounds == source.bounds
        first = canvas.read()
    assert first.std() > 0
    assert sorted(p.name for p in out.parent.iterdir()) == ["canvas.tif"]  # no partial or scratch files left
    assert CliRunner().invoke(app, args).exit_code == 0
    with rasterio.open(out) as again:
        assert np.array_equal(again.read(), first)  # the same seed, the same canvas


def test_cascade_from_noise_to_a_requested_size(stages, tmp_path):
    summary = generate(
        [stages / "first", stages / "upscaler"], tmp_path / "canvas.tif", size=(36, 44), steps=1, noise="field",
        show_progress=False,
    )  # fmt: skip
    assert summary.stages == [0, 1] and summary.shape == (3, 36, 44) and summary.crs is None
    with rasterio.open(tmp_path / "canvas.tif") as canvas:
        assert (canvas.height, canvas.width) == (36, 44) and canvas.transform.a == 4.0


def test_a_first_stage_draws_from_a_landcover_geotiff_and_is_georeferenced_like_it(stages, tmp_path):
    from affine import Affine

    codes = np.random.default_rng(0).choice([10, 30, 80], (5, 6)).astype(np.uint8)
    profile = {"driver": "GTiff", "width": 6, "height": 5, "count": 1, "dtype": "uint8", "crs": "EPSG:32632",
               "transform": Affine(32.0, 0, 500_000.0, 0, -32.0, 5_100_000.0)}  # fmt: skip
    with rasterio.open(tmp_path / "landcover.tif", "w", **profile) as dst:
        dst.write(codes[None])
    summary = generate(
        [stages / "first-landcover", stages / "upscaler"], tmp_path / "canvas.tif", landcover=tmp_path / "landcover.tif",
        steps=1, show_progress=False,
    )  # fmt: skip
    assert summary.shape == (3, 40, 48) and summary.crs == "EPSG:32632"  # its footprint at 4 m
    with rasterio.open(tmp_path / "canvas.tif") as canvas:
        assert canvas.transform.to_gdal() == (500_000.0, 4.0, 0.0, 5_100_000.0, 0.0, -4.0)


def test_one_model_of_both_level_pairs_runs_from_the_input_resolution_to_the_asked_one(
    stages, coarse_geotiff, tmp_path
):
    coarse_geotiff.write_coarse_geotiff(tmp_path / "64m.tif", rows=3, cols=2, gsd=64.0)
    coarse_geotiff.write_coarse_geotiff(tmp_path / "16m.tif", rows=6, cols=5, gsd=16.0)
    options = {"steps": 1, "show_progress": False}
    to_16m = generate(
        [stages / "both"], tmp_path / "a.tif", from_path=tmp_path / "64m.tif", gsd=16.0, **options
    )
    assert to_16m.stages == [0] and to_16m.shape == (3, 12, 8) and to_16m.gsd == 16.0
    through = generate([stages / "both"], tmp_path / "b.tif", from_path=tmp_path / "64m.tif", **options)
    assert through.stages == [0, 1] and through.shape == (3, 48, 32)
    from_16m = generate([stages / "both"], tmp_path / "c.tif", from_path=tmp_path / "16m.tif", **options)
    assert from_16m.stages == [1] and from_16m.shape == (3, 24, 20)


def test_shared_noise_from_noise_alone_fails_with_one_line(stages, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["generate", "--checkpoint", str(stages / "first"), "--checkpoint", str(stages / "upscaler"),
              "--size", "32x32", "--steps", "1", "--out", str(tmp_path / "x.tif")])  # fmt: skip
    error = capsys.readouterr().err.strip()
    assert exit_info.value.code == 2 and "repeats one window" in error and "\n" not in error
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--size", "12x"], "WIDTHxHEIGHT"),
        (["--noise", "perlin"], "noise mode"),
        (["--strength", "1.5", "--size", "16x16"], "strength must be in (0, 1]"),
        ([], "give one with --from"),
    ],
)
def test_bad_requests_fail_with_one_line(stages, tmp_path, capsys, extra, message):
    with pytest.raises(SystemExit) as exit_info:
        main(["generate", "--checkpoint", str(stages / "upscaler"), "--out", str(tmp_path / "x.tif"), *extra])
    assert exit_info.value.code == 2
    error = capsys.readouterr().err.strip()
    assert message in error and "\n" not in error
    assert not list(tmp_path.iterdir())


def test_missing_weights_are_a_weights_error(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["generate", "--checkpoint", str(tmp_path), "--out", str(tmp_path / "x.tif"), "--size", "16x16"])
    assert "holds no MetaEarth model" in capsys.readouterr().err
