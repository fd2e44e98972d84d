"""`terrasynth generate --scheduler`: canvas megapixels per second on one and on two Dask worker
processes of this machine, in one run.

Each worker is held to one thread (one Dask thread, ``torch.set_num_threads(1)``), has loaded the
model and generated a small warm-up canvas before the clock starts, so the figures compare the
blocks' work, not start-up; the clock is the run's own (its blocks and the GeoTIFF). The
canvas is a tiny random upscaler's (16 -> 4 m, 4 bands) from a random 16 m GeoTIFF, in blocks of
two window strides, written to the store and then to the GeoTIFF as the command does. The ideal
``speedup`` is 2 with two free cores; the load average before and after says how busy the machine
was (other processes share the cores).

    python benchmarks/generate_workers.py --out generate_workers.json [--quick]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import tempfile
from pathlib import Path

import numpy as np
import rasterio
import torch
from affine import Affine

from terrasynth.models.metaearth import build_denoiser
from terrasynth.workflows.canvas_blocks import worker_cascade
from terrasynth.workflows.generate import generate

WINDOW, STEPS, BLOCK = 32, 4, 2  # pixels, DDIM steps, window strides per block


def _model(folder: Path) -> Path:
    """A tiny random upscaler."""
    torch.manual_seed(0)
    model = folder / "model"
    build_denoiser("tiny", channels=4, gsd=4.0, condition_gsd=16.0, window=WINDOW).save_pretrained(model)
    return model


def _coarse(path: Path, side: int) -> Path:
    """A ``side`` x ``side`` px random 16 m GeoTIFF."""
    values = np.random.default_rng(0).random((4, side, side), dtype=np.float32) * 0.3
    profile = {"driver": "GTiff", "width": side, "height": side, "count": 4, "dtype": "float32",
               "crs": "EPSG:32632", "transform": Affine(16.0, 0, 500_000, 0, -16.0, 5_100_000)}  # fmt: skip
    with rasterio.open(path, "w", **profile) as dataset:
        dataset.write(values)
    return path


def _on_workers(workers: int, model: Path, coarse: Path, folder: Path) -> dict:
    from distributed import LocalCluster

    with (
        LocalCluster(
            n_workers=workers, threads_per_worker=1, dashboard_address=None, silence_logs=logging.ERROR
        ) as cluster,
        cluster.get_client() as client,
    ):
        client.run(torch.set_num_threads, 1)
        client.run(worker_cascade, (str(model.absolute()),), None)  # every worker loads the model first
        options = {
            "steps": STEPS,
            "noise": "field",
            "batch_size": 8,
            "torch_threads": 1,
            "show_progress": False,
        }
        warm_up = _coarse(folder / "warm-up.tif", WINDOW // 4)  # 2 blocks of one stride: one per worker
        generate([model], folder / f"warm-up-{workers}.tif", from_path=warm_up, block=1,
                 scheduler=cluster.scheduler_address, **options)  # fmt: skip
        summary = generate(
            [model], folder / f"canvas-{workers}.tif", from_path=coarse, block=BLOCK,
            scheduler=cluster.scheduler_address, **options,
        )  # fmt: skip
        seconds = summary.seconds  # the blocks and the GeoTIFF, from the first block submitted
    megapixels = summary.shape[1] * summary.shape[2] / 1e6
    return {
        "workers": workers, "blocks": summary.blocks, "seconds": seconds,
        "megapixels_per_second": megapixels / seconds,
    }  # fmt: skip


def run(quick: bool = False) -> dict:
    """Megapixels per second of one canvas on one and on two single-threaded worker processes."""
    side = 16 if quick else 48  # 16 m pixels: a 64 or 192 px square canvas at 4 m
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        model, coarse = _model(folder), _coarse(folder / "coarse.tif", side)
        runs = [_on_workers(n, model, coarse, folder) for n in (1, 2)]
    one, two = runs
    return {
        "canvas_px": 4 * side, "window_px": WINDOW, "steps": STEPS, "block_strides": BLOCK, "preset": "tiny",
        "cpu_count": os.cpu_count(), "load_average_before": load_before, "load_average_after": os.getloadavg(),
        "one_worker": one, "two_workers": two,
        "speedup": two["megapixels_per_second"] / one["megapixels_per_second"],
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smaller canvas")
    parser.add_argument("--out", help="write the figures to this JSON file")
    args = parser.parse_args()
    text = json.dumps(run(args.quick), indent=2)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")


if __name__ == "__main__":
    main()
