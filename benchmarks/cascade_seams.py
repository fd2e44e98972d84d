"""Window seams of the demo's cascade over several seeds: the seam energy ratio of each generated
level per axis and both axes pooled (1 = no seam; issue 13's target is 0.95 to 1.05), as mean and
standard error over seeds.

One demo canvas gives one noisy figure (15 cuts per axis at 16 m, 30 at 4 m; its
``chance_spread`` says how noisy), and its content at the cut columns weighs on it as much as the
seams do. Here the demo's generation (the bundled MetaEarth checkpoint, the demo's sampler
settings, 60 m -> 16 m -> 4 m from the synthetic world's 60 m image) runs once per seed, each seed
on its own area (the demo's, moved east by 1.5 times its side per seed) and with its own noise, and the figures
are averaged (the median too: one area whose roads or fields line up with the cuts moves the mean).
``bicubic`` is each input upsampled without windows and cut at the same lines.

    uv run python benchmarks/run.py --only cascade_seams            # 6 seeds, about 15 min on 1 thread
    uv run python benchmarks/cascade_seams.py --seeds 10 --out seams.json
"""

from __future__ import annotations

import argparse
import json
import math
import tempfile
from pathlib import Path

import numpy as np


def _input_60m(folder: Path, settings, east: float) -> Path:
    """The synthetic world's 60 m image (world 0, the demo's date) of the demo's area moved ``east``
    metres, as a GeoTIFF in ``folder``."""
    from terrasynth.core import corpus_regions, open_corpus, reflectance
    from terrasynth.ingest.synthetic import SyntheticSource
    from terrasynth.workflows.demo import generation_area
    from terrasynth.workflows.ingest import run_ingest

    area = generation_area(settings, east)
    corpus = folder / "corpus.zarr"
    run_ingest(SyntheticSource(seed=0, date=settings.date), area, corpus, levels="60",
               tile_size=settings.tile_size, scheduler="threads")  # fmt: skip
    tree = open_corpus(corpus)
    coarse = tree[f"{corpus_regions(tree)[0]}/60m"].to_dataset()
    path = folder / "input-60m.tif"
    reflectance(coarse["image"]).rio.write_crs(coarse.rio.crs).rio.to_raster(path)
    return path


def _rgb(path: Path) -> np.ndarray:
    import rasterio

    with rasterio.open(path) as dataset:
        return dataset.read().astype(np.float64)[[2, 1, 0]]


def _bicubic(condition: Path, canvas: Path) -> np.ndarray:
    """``condition`` upsampled bicubically onto ``canvas``' grid (RGB), no windows."""
    from terrasynth.workflows.evaluate_generation import bicubic_baseline

    out = bicubic_baseline(
        condition, [canvas.parent], canvas.parent.with_name(f"{canvas.parent.name}-bicubic")
    )
    return _rgb(out / canvas.name)


def _scores(image: np.ndarray, stride: int, offset: int, period: int) -> dict[str, float]:
    from terrasynth.evaluation.seams import SEAM_AXES, seam_scores

    scores = seam_scores(image, stride=stride, offset=offset, period=period)
    return {
        f"{metric}_{axis}": scores[(axis, metric)]
        for axis in SEAM_AXES
        for metric in ("energy_ratio", "chance_spread")
    }


def _summary(rows: list[dict[str, float]]) -> dict:
    keys = rows[0].keys()
    mean = {key: round(float(np.mean([row[key] for row in rows])), 4) for key in keys}
    sem = {
        key: round(float(np.std([row[key] for row in rows]) / math.sqrt(len(rows))), 4)
        for key in keys
        if key.startswith("energy_ratio")
    }
    median = {
        key: round(float(np.median([row[key] for row in rows])), 4)
        for key in keys
        if key.startswith("energy_ratio")
    }
    return {
        "mean": mean,
        "standard_error": sem,
        "median": median,
        "per_seed": [{k: round(v, 4) for k, v in r.items()} for r in rows],
    }


def run(quick: bool = False, seeds: int = 6, out: Path | None = None) -> dict:
    import torch

    from terrasynth.evaluation.seams import grid_period
    from terrasynth.workflows.demo import BUNDLED, DemoSettings
    from terrasynth.workflows.generate import generate

    settings = DemoSettings(canvas=64, canvas_16m=32, area=1000.0, tile_size=32) if quick else DemoSettings()
    seeds = 2 if quick else seeds
    torch.set_num_threads(1)  # figures that do not depend on the machine's thread count
    stride, offset = settings.chip // 2, settings.chip // 4
    sizes = {"16m": settings.canvas_16m, "4m": settings.canvas}
    periods = {"16m": grid_period(16.0, 60.0), "4m": grid_period(4.0, 16.0)}
    generated: dict[str, list] = {"16m": [], "4m": []}
    bicubic: dict[str, list] = {"16m": [], "4m": []}
    with tempfile.TemporaryDirectory(prefix="terrasynth-cascade-seams-") as scratch:
        for seed in range(seeds):
            folder = Path(scratch) / f"seed{seed}"
            folder.mkdir()
            condition = _input_60m(folder, settings, east=1.5 * settings.area * seed)
            for level, gsd in (("16m", 16.0), ("4m", 4.0)):
                canvas = generate([BUNDLED / "metaearth"], folder / f"{level}-{seed}" / f"{level}.tif",
                                  from_path=condition, gsd=gsd, size=(sizes[level],) * 2, seed=seed, show_progress=False, **settings.sampling(level)).path  # fmt: skip
                generated[level].append(_scores(_rgb(canvas), stride, offset, periods[level]))
                bicubic[level].append(_scores(_bicubic(condition, canvas), stride, offset, periods[level]))
                condition = canvas
    result = {
        "seeds": seeds,
        "canvas_px": sizes,
        "window_stride": stride,
        **{
            level: {"cascade": _summary(generated[level]), "bicubic": _summary(bicubic[level])}
            for level in sizes
        },
    }
    if out is not None:
        Path(out).write_text(json.dumps(result, indent=2) + "\n")
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=6)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    print(json.dumps(run(args.quick, args.seeds, args.out), indent=2))
