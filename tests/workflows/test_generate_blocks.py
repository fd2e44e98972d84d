"""`terrasynth generate --scheduler`: the canvas in blocks, on Dask workers or in this process,
into a resumable store, equal to the one-process canvas."""

import numpy as np
import pytest
import rasterio
import torch
import xarray as xr

from terrasynth.models.metaearth import NOISE_MODES, build_denoiser
from terrasynth.workflows import canvas_blocks
from terrasynth.workflows.cli import main
from terrasynth.workflows.generate import generate

SMALL = {
    "block_out_channels": (16, 32), "attention_levels": (False, False), "norm_num_groups": 8,
    "encoder_features": 8, "encoder_blocks": 1, "encoder_growth": 8, "window": 16, "channels": 3,
}  # fmt: skip
RUN = {"steps": 2, "batch_size": 4, "seed": 5, "show_progress": False}


@pytest.fixture(scope="module")
def cascade(tmp_path_factory, generators):
    """One model of both stages (64 -> 16 -> 4 m) and a 64 m GeoTIFF of 4 x 3 px to start from:
    a 64 x 48 px canvas at 4 m."""
    folder = tmp_path_factory.mktemp("cascade")
    torch.manual_seed(0)
    build_denoiser("tiny", **SMALL, gsd=4.0, condition_gsd=16.0, pairs=[[16, 64], [4, 16]]).save_pretrained(
        folder / "model"
    )
    generators("coarse_geotiff").write_coarse_geotiff(folder / "coarse.tif", rows=4, cols=3, gsd=64.0)
    return folder


@pytest.fixture(scope="module")
def one_process(cascade, tmp_path_factory):
    """The one-process canvas of each noise mode, (bands, rows, columns) uint16, with one torch thread."""
    folder = tmp_path_factory.mktemp("one-process")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    canvases = {}
    for noise in NOISE_MODES:
        generate(
            [cascade / "model"], folder / f"{noise}.tif", from_path=cascade / "coarse.tif", noise=noise, **RUN
        )
        canvases[noise] = read(folder / f"{noise}.tif")
    torch.set_num_threads(threads)
    return canvases


def read(path):
    with rasterio.open(path) as dataset:
        return dataset.read()


@pytest.mark.parametrize("noise", NOISE_MODES)
def test_a_canvas_in_blocks_in_this_process_equals_the_one_process_canvas(
    cascade, one_process, tmp_path, noise
):
    out = tmp_path / "canvas.tif"
    summary = generate(
        [cascade / "model"],
        out,
        from_path=cascade / "coarse.tif",
        noise=noise,
        scheduler="threads",
        block=1,
        **RUN,
    )
    # blocks of one stride (8 rows): 2 at 16 m, 8 at 4 m; with average noise each runs its halo of
    # two strips (one per step) above and below
    assert summary.blocks == 10 and summary.resumed == 0 and summary.runner == "this process"
    assert np.array_equal(read(out), one_process[noise])  # one process: the same arithmetic, bit for bit


def test_a_canvas_that_keeps_its_layout_in_blocks_equals_the_one_process_canvas(cascade, tmp_path):
    canvases = []
    for scheduler in (None, "threads"):
        out = tmp_path / f"{scheduler}.tif"
        generate([cascade / "model"], out, from_path=cascade / "coarse.tif", noise="field", keep_layout=True,
                 scheduler=scheduler, block=1, **RUN)  # fmt: skip
        canvases.append(read(out))
    assert np.array_equal(*canvases)  # window by window, as every other sampler option: bit for bit


def test_the_store_is_a_datatree_of_every_level_with_its_crs(cascade, tmp_path):
    generate(
        [cascade / "model"],
        tmp_path / "canvas.tif",
        from_path=cascade / "coarse.tif",
        scheduler="threads",
        **RUN,
    )
    tree = xr.open_datatree(tmp_path / "canvas.zarr", engine="zarr", decode_coords="all", consolidated=False)
    assert sorted(tree.children) == ["16m", "4m", "64m"]  # the input, copied in, and each stage
    with rasterio.open(tmp_path / "canvas.tif") as canvas, rasterio.open(cascade / "coarse.tif") as source:
        for name, gsd in (("64m", 64.0), ("16m", 16.0), ("4m", 4.0)):
            level = tree[name].to_dataset()
            assert level.rio.crs == source.crs and level.rio.resolution() == (gsd, -gsd)
            assert level.rio.bounds() == pytest.approx(source.bounds)
        finest = tree["4m"]["image"].values
        assert np.array_equal(canvas.read(), np.round(finest.astype(np.float64) * 1e4).astype(np.uint16))
        assert np.allclose(tree["64m"]["image"].values, source.read() * 1e-4, atol=1e-6)


def test_a_killed_canvas_resumes_without_computing_a_finished_block_again(
    cascade, one_process, tmp_path, monkeypatch
):
    computed, run_block = [], canvas_blocks.run_block

    def fails_after_five(job, plan, block):
        if len(computed) == 5:
            raise KeyboardInterrupt  # as Ctrl-C, or a kill, between blocks
        computed.append((block.level, block.index))
        return run_block(job, plan, block)

    monkeypatch.setattr(canvas_blocks, "run_block", fails_after_five)
    out, options = tmp_path / "canvas.tif", {"from_path": cascade / "coarse.tif", "noise": "average", **RUN}
    with pytest.raises(KeyboardInterrupt):
        generate([cascade / "model"], out, scheduler="threads", block=1, **options)
    assert not out.exists() and len(computed) == 5

    def counts(job, plan, block):
        computed.append((block.level, block.index))
        return run_block(job, plan, block)

    monkeypatch.setattr(canvas_blocks, "run_block", counts)
    summary = generate([cascade / "model"], out, scheduler="threads", block=1, **options)
    assert (summary.resumed, summary.blocks) == (5, 5)
    assert len(computed) == len(set(computed)) == 10  # every block once, over both runs
    assert np.array_equal(read(out), one_process["average"])


def test_a_store_of_other_settings_is_refused_in_one_line(cascade, tmp_path, capsys):
    args = ["generate", "--checkpoint", str(cascade / "model"), "--from", str(cascade / "coarse.tif"),
            "--steps", "1", "--scheduler", "threads", "--out", str(tmp_path / "canvas.tif")]  # fmt: skip
    with pytest.raises(SystemExit) as exit_info:
        main([*args, "--seed", "1"])
    said = " ".join(capsys.readouterr().out.split())
    assert exit_info.value.code == 0 and "2 blocks computed (0 from an earlier run) on this process" in said
    (tmp_path / "canvas.tif").unlink()  # the store stays: a rerun resumes it
    with pytest.raises(SystemExit) as exit_info:
        main([*args, "--seed", "2"])
    error = capsys.readouterr().err.strip()
    assert exit_info.value.code == 2 and "other settings (seed differ)" in error and "--overwrite" in error
    assert "\n" not in error


@pytest.fixture(scope="module")
def two_workers():
    """A local Dask cluster of two single-threaded worker processes."""
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as cluster:
        yield cluster.scheduler_address


@pytest.mark.slow
@pytest.mark.parametrize("noise", NOISE_MODES)
def test_a_canvas_on_two_worker_processes_equals_the_one_process_canvas(
    cascade, one_process, two_workers, tmp_path, noise
):
    out = tmp_path / "canvas.tif"
    summary = generate(
        [cascade / "model"], out, from_path=cascade / "coarse.tif", noise=noise, scheduler=two_workers, block=1,
        torch_threads=1, **RUN,
    )  # fmt: skip
    assert summary.blocks == 10 and summary.runner == f"Dask cluster at {two_workers}"
    # Each worker loads the weights itself and runs with one torch thread as the reference does:
    # the arithmetic is the same and the canvases are bit-identical on the machines we know, but
    # another weight alignment may round float32 differently (about 1e-5 in reflectance, see
    # models/metaearth/unbounded.py), which can move a pixel's uint16 value (x 1e4) by one.
    difference = np.abs(read(out).astype(int) - one_process[noise])
    assert difference.max() <= 1  # a wrong noise, window or block differs by hundreds


def test_each_worker_loads_the_models_once_for_all_its_blocks(cascade, tmp_path, monkeypatch):
    from terrasynth.workflows import generate as workflow

    loads, load_stages = [], workflow.load_stages
    monkeypatch.setattr(workflow, "load_stages", lambda paths: loads.append(paths) or load_stages(paths))
    canvas_blocks.worker_cascade.cache_clear()
    summary = generate(
        [cascade / "model"], tmp_path / "canvas.tif", from_path=cascade / "coarse.tif", scheduler="threads",
        block=1, **RUN,
    )  # fmt: skip
    assert summary.blocks == 10 and len(loads) == 2  # to plan the run here, and in the one worker


def test_missing_input_pixels_are_filled_in_the_store_as_in_one_process(cascade, generators, tmp_path):
    generators("coarse_geotiff").write_coarse_geotiff(tmp_path / "coarse.tif", rows=12, cols=10, gsd=64.0)
    with rasterio.open(tmp_path / "coarse.tif") as source:
        profile = source.profile | {"dtype": "float32"}
        values = source.read().astype(np.float32) * 1e-4
    values[:, 0, 0] = np.nan  # 1 of 120 pixels
    holed = tmp_path / "holed.tif"
    with rasterio.open(holed, "w", **profile) as target:
        target.write(values)
    canvases = {}
    for scheduler in (None, "threads"):
        out = tmp_path / f"{scheduler}.tif"
        generate(
            [cascade / "model"], out, from_path=holed, gsd=16.0, scheduler=scheduler, **RUN
        )  # 48 x 40 px
        canvases[scheduler] = read(out)
    assert np.array_equal(canvases[None], canvases["threads"])
    tree = xr.open_datatree(tmp_path / "threads.zarr", engine="zarr", consolidated=False)
    assert np.isfinite(tree["64m"]["image"].values).all()
