"""The demo's cascade against bicubic upsampling over several areas: per generated level, the sliced
Wasserstein distance (SWD) of each to the real tiles, their ratio (issue 13's target: cascade below
bicubic, a ratio under 1), how closely each follows the 60 m input (condition RMSE) and the seam
energy ratio, with the mean, its standard error and the median over areas.

One demo canvas gives one noisy figure (with ``--seed 1`` the 16 m level lost to bicubic where
seed 0 won). Here, as in ``cascade_seams``, the demo's generation (the bundled MetaEarth checkpoint,
the demo's sampler settings, 60 m -> 16 m -> 4 m from the synthetic world's 60 m image) runs once
per area, each on the demo's area moved east by 1.5 times its side per area and with its own seed, and each
canvas is scored as the demo scores it (:func:`terrasynth.workflows.evaluate_generation.
evaluate_generation` against the area's real 16 and 4 m tiles, with the 60 m input as condition).

``*_real`` scores the area's real images of the canvases' footprints as canvases: a perfect
cascade. Its SWD is the floor the metric allows, and ``swd_ratio_real`` the best ratio to bicubic a
cascade can reach: over the eight areas 0.64 at 16 m and 0.24 at 4 m (0.86 at 16 m when the 16 m
canvas was the 4 m one's 120 px footprint: six to nine 32 px tiles, whose low-pass scale the 60 m
input already fixes). Real tiles are those under each level's canvas (``real_under_canvases``).
``swd_<n>px_*`` are the SWD of one pyramid scale (``n`` px: the tile, the finest detail; the
smallest is the low-pass rest), of which ``swd_*`` is the mean. Standard errors use the sample
standard deviation (n - 1).

``stage16`` and ``stage4`` override sampler settings (``steps``, ``solver``, ``noise``, ``strength``,
``eta``, ``keep_layout``) of one stage, to measure candidates against the demo's defaults on the
same areas; ``levels=("16m",)`` stops after the 16 m stage (a cheaper screen of 16 m settings; its SWDs
differ from those of a full run by a few per cent, the patches being drawn from other levels too).
``checkpoint`` measures another model folder (one model of both stages) than the bundled one.

    uv run python benchmarks/run.py --only cascade_distances        # 8 areas, about 14 min on 1 thread
    uv run python benchmarks/cascade_distances.py --areas 8 --out distances.json
    uv run python benchmarks/cascade_distances.py --stage16 strength=0.6 --levels 16m
    uv run python benchmarks/cascade_distances.py --checkpoint runs/cascade/model --stage4 solver='"dpm++"'
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import tempfile
from pathlib import Path

import numpy as np

LEVELS = ("16m", "4m")


def _ingest_area(folder: Path, settings, east: float) -> tuple[Path, Path]:
    """The synthetic world (world 0, the demo's date) at 60, 16 and 4 m over the demo's area moved
    ``east`` metres, as a corpus in ``folder``, and its 60 m image as a GeoTIFF (the cascade's input)."""
    from terrasynth.core import corpus_regions, open_corpus, reflectance
    from terrasynth.ingest.synthetic import SyntheticSource
    from terrasynth.workflows.demo import generation_area
    from terrasynth.workflows.ingest import run_ingest

    area = generation_area(settings, east)
    corpus = folder / "corpus.zarr"
    run_ingest(SyntheticSource(seed=0, date=settings.date), area, corpus, levels="60,16,4",
               tile_size=settings.tile_size, scheduler="threads")  # fmt: skip
    tree = open_corpus(corpus)
    coarse = tree[f"{corpus_regions(tree)[0]}/60m"].to_dataset()
    start = folder / "canvas" / "input-60m.tif"
    start.parent.mkdir()
    reflectance(coarse["image"]).rio.write_crs(coarse.rio.crs).rio.to_raster(start)
    return corpus, start


def _real_canvases(corpus: Path, start: Path, settings, levels: tuple[str, ...]) -> Path:
    """The corpus' real images of the canvases' footprints (from the grid's top-left corner, as the
    cascade writes them) beside a copy of ``start`` in ``real/``: a perfect cascade's canvases.
    Returns the copy of ``start``."""
    from terrasynth.core import corpus_regions, open_corpus, reflectance

    tree = open_corpus(corpus)
    copy = start.parent.with_name("real") / start.name
    copy.parent.mkdir()
    shutil.copy(start, copy)
    for level in levels:
        image = tree[f"{corpus_regions(tree)[0]}/{level}"].to_dataset()
        size = _canvas_size(settings, level)
        real = reflectance(image["image"]).rio.write_crs(image.rio.crs)
        real.isel(y=slice(0, size), x=slice(0, size)).rio.to_raster(copy.with_name(f"{level}.tif"))
    return copy


def _canvas_size(settings, level: str) -> int:
    """The edge in pixels of the demo's canvas at ``level``."""
    return settings.canvas if level == "4m" else settings.canvas_16m


def _generate(
    start: Path, settings, seed: int, levels: tuple[str, ...], stages: dict, checkpoint: Path
) -> None:
    """The demo's canvases beside ``start``: ``16m.tif`` from it, then ``4m.tif`` from that, each
    with the demo's sampler options updated by ``stages[level]``."""
    from terrasynth.workflows.generate import generate

    source = start
    for level in LEVELS[: 1 + max(map(LEVELS.index, levels))]:  # the 4 m stage refines the 16 m canvas
        options = settings.sampling(level) | stages.get(level, {})
        source = generate([checkpoint], start.with_name(f"{level}.tif"), from_path=source, gsd=float(level[:-1]),
                          size=(_canvas_size(settings, level),) * 2, seed=seed, show_progress=False, **options).path  # fmt: skip


def _measure(
    corpus: Path, start: Path, settings, seed: int, levels: tuple[str, ...], name: str = "cascade"
) -> dict[str, dict]:
    """Per level, the figures of the module docstring for the canvases beside ``start`` (named
    ``name``) and for bicubic, scored as the demo's "evaluate generation"."""
    from terrasynth.evaluation.seams import POOLED
    from terrasynth.workflows.evaluate_generation import BICUBIC, evaluate_generation

    window = settings.chip
    results = evaluate_generation(
        corpus, [start.parent], names=["cascade"], tile_size=window, window_stride=window // 2,
        window_offset=window // 4, seed=seed, condition=start, real_under_canvases=True,
    )  # fmt: skip
    swd = results["distance"].sel(landcover="all", metric="swd")
    per_scale = results["swd"].sel(landcover="all")
    rmse = results["condition_error"].sel(condition_metric="rmse")
    seam = results["seam"].sel(seam_metric="energy_ratio", axis=POOLED)
    figures = {}
    for level in levels:
        row = {}
        for model, label in (("cascade", name), (BICUBIC, "bicubic")):
            row[f"swd_{label}"] = float(swd.sel(model=model, level=level))
            for scale in per_scale["scale"].values:
                row[f"swd_{scale}px_{label}"] = float(per_scale.sel(model=model, level=level, scale=scale))
            row[f"condition_rmse_{label}"] = float(rmse.sel(model=model, level=level))
            row[f"seam_energy_ratio_{label}"] = float(seam.sel(model=model, level=level))
        row[f"swd_ratio_{name}"] = row[f"swd_{name}"] / row["swd_bicubic"]
        figures[level] = row
    return figures


def _summary(rows: list[dict[str, float]]) -> dict:
    """Mean, standard error (n - 1) and median over areas of every figure, the areas where the
    cascade's (and the real image's) SWD is below bicubic's, and the per-area figures."""
    values = {key: np.array([row[key] for row in rows]) for key in rows[0]}
    return {
        "mean": {key: _round(v.mean()) for key, v in values.items()},
        "standard_error": {key: _round(_standard_error(v)) for key, v in values.items()},
        "median": {key: _round(np.median(v)) for key, v in values.items()},
        "below_bicubic": {
            name: int(sum(row[f"swd_{name}"] < row["swd_bicubic"] for row in rows))
            for name in ("cascade", "real")
        },
        "per_area": [{k: _round(v) for k, v in row.items()} for row in rows],
    }


def _standard_error(values: np.ndarray) -> float:
    return float(np.std(values, ddof=1) / math.sqrt(len(values))) if len(values) > 1 else math.nan


def _round(value: float) -> float:
    """Four significant digits (condition RMSEs are thousandths of reflectance)."""
    return float(f"{float(value):.4g}")


def run(
    quick: bool = False,
    areas: int = 8,
    out: Path | None = None,
    stage16: dict | None = None,
    levels: tuple[str, ...] = LEVELS,
    stage4: dict | None = None,
    checkpoint: Path | None = None,
) -> dict:
    import torch

    from terrasynth.workflows.demo import BUNDLED, DemoSettings

    settings = DemoSettings(canvas=128, canvas_16m=32, area=1000.0, tile_size=32) if quick else DemoSettings()
    areas = 2 if quick else areas
    stages = {"16m": dict(stage16 or {}), "4m": dict(stage4 or {})}
    checkpoint = Path(checkpoint or BUNDLED / "metaearth")
    torch.set_num_threads(1)  # figures that do not depend on the machine's thread count
    rows: dict[str, list] = {level: [] for level in levels}
    with tempfile.TemporaryDirectory(prefix="terrasynth-cascade-distances-") as scratch:
        for index in range(areas):
            folder = Path(scratch) / f"area{index}"
            folder.mkdir()
            corpus, start = _ingest_area(folder, settings, east=1.5 * settings.area * index)
            _generate(start, settings, index, levels, stages, checkpoint)
            generated = _measure(corpus, start, settings, index, levels)
            real = _measure(
                corpus, _real_canvases(corpus, start, settings, levels), settings, index, levels, "real"
            )
            for level in levels:
                rows[level].append(generated[level] | real[level])
    sampler = {
        level: {k: v for k, v in settings.sampling(level).items() if k != "batch_size"} | stages[level]
        for level in LEVELS
    }
    result = {
        "areas": areas,
        "checkpoint": str(checkpoint),
        "sampler": sampler["4m"],
        "stage16": sampler["16m"],
        "tile_px": settings.chip,
        **{level: _summary(rows[level]) for level in levels},
    }
    if out is not None:
        Path(out).write_text(json.dumps(result, indent=2) + "\n")
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--areas", type=int, default=8)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--stage16", action="append", default=[], metavar="KEY=JSON",
                        help="a sampler setting of the 16 m stage only (strength=0.6, solver=\\\"dpm++\\\")")  # fmt: skip
    parser.add_argument(
        "--stage4",
        action="append",
        default=[],
        metavar="KEY=JSON",
        help="a sampler setting of the 4 m stage only",
    )
    parser.add_argument("--levels", nargs="+", default=list(LEVELS), choices=LEVELS)
    parser.add_argument(
        "--checkpoint", type=Path, help="a model folder of both stages (default: the bundled one)"
    )
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()

    def overrides(items: list[str]) -> dict:
        return {key: json.loads(value) for key, value in (item.split("=", 1) for item in items)}

    result = run(args.quick, args.areas, args.out, overrides(args.stage16), tuple(args.levels),
                 overrides(args.stage4), args.checkpoint)  # fmt: skip
    print(json.dumps(result, indent=2))
