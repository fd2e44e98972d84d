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
