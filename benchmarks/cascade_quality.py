"""MetaEarth cascade quality at the demo's small scale: generated against real imagery and against
the bicubic baseline, per generated level.

Builds the demo's corpus (the synthetic world at 60, 16 and 4 m), gets a two-stage cascade
(60 -> 16 m, 16 -> 4 m) by training a recipe on it or by loading checkpoints, generates the
demo's 4 m canvas through 16 m from the corpus' real 60 m image, and records for 16 m and 4 m:

- ``swd_generated`` / ``swd_bicubic``: Laplacian SWD of the generated / bicubic-upsampled canvas
  against the corpus' real tiles of that level (lower is better; the target is generated < bicubic);
- ``condition_rmse`` / ``condition_relative_rmse``: the canvas averaged back down onto the 60 m
  input's pixels against them, in reflectance and over the input's standard deviation, for the
  generated and the bicubic canvas (``*_bicubic``); ``stage_condition_*``: the 4 m canvas against
  its own condition, the generated 16 m canvas;
- ``seam_energy_ratio`` and ``seam_spectral_peak`` (both axes pooled) of the generated canvas, and
  of the bicubic one and of the real image of the same footprint (``*_bicubic``, ``*_real``): on
  a canvas of a few window strides both are noisy; the ratio is matched to the pixel grid of each
  level's condition (:mod:`terrasynth.evaluation.seams`), the peak is not, and the 60 m grid
  (every 15 px at 16 m and at 4 m) lies next to the window frequency (every 16 px);
- ``train_seconds`` and ``generate_seconds`` (wall clock), and the CPU time of both (all threads:
  on a shared machine the CPU time is the steadier figure).

    uv run python benchmarks/run.py --only cascade_quality          # trains the default recipe
    uv run python benchmarks/cascade_quality.py --recipe demo --out demo.json --draws 4
    uv run python benchmarks/cascade_quality.py --checkpoint checkpoints/metaearth --out bundled.json

A recipe is a set of training and sampling settings (:data:`RECIPES`); ``--set key=value``
overrides one (values are JSON: ``--set max_epochs=5 --set prediction=\\"sample\\"``).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

DEMO = {
    "centre": (9.179, 45.808), "area": 2000.0, "date": "2021-06-01", "tile_size": 64, "canvas": 480,
    "levels": ("16m", "4m"), "rgb_bands": (2, 1, 0),
}  # fmt: skip
"""The demo's small scale (terrasynth.workflows.demo.DemoSettings) and the bands shown as RGB
(indices: the generated GeoTIFFs' bands are not named)."""

RECIPES: dict[str, dict] = {
    "demo": {
        "chip": 32, "preset": "tiny", "max_epochs": 3, "steps_per_epoch": 40, "batch_size": 16,
        "learning_rate": 1e-3, "steps": 10, "noise": "field", "strength": 0.4,
    },
}  # fmt: skip
RECIPES["residual"] = RECIPES["demo"] | {
    "prediction": "sample",
    "residual": True,
    "snr_gamma": 5.0,
    "p2_gamma": 0.0,
}
RECIPES["residual-unified"] = RECIPES["residual"] | {"unified": True, "steps_per_epoch": 80}
"""Training (``terrasynth.trainers.settings.MetaEarthTraining`` fields, plus ``chip``,
``condition``: ``coarser`` or ``degraded``, and ``unified``: one model of both level pairs,
trained for the steps of both stages together) and sampling settings (``steps``, ``noise``,
``strength``, ``eta``, ``window``, ``keep_layout``) by name. ``demo`` is the demo's cascade as it was (two stages
predicting the noise, P2 weighting); ``residual`` predicts the clean image over the bicubic
upsampling with Min-SNR weighting; ``residual-unified`` does so with one model of both stages."""
_SAMPLING = ("steps", "noise", "strength", "eta", "window", "keep_layout")


def build_corpus(path: Path, seed: int = 0, scale: dict = DEMO) -> Path:
    """The demo's corpus: a square of the synthetic world at 60, 16 and 4 m."""
    from terrasynth.core import AreaOfInterest
    from terrasynth.ingest.synthetic import SyntheticSource
    from terrasynth.workflows.ingest import run_ingest

    area = AreaOfInterest.square(scale["centre"], scale["area"])
    run_ingest(SyntheticSource(seed=seed, date=scale["date"]), area, path, levels="60,16,4",
               tile_size=scale["tile_size"], scheduler="threads", progress=False)  # fmt: skip
    return path


def train_stages(corpus: Path, out: Path, recipe: dict, seed: int = 0) -> list[Path]:
    """Trains the 16 m and 4 m stages of ``recipe`` on ``corpus`` (or, with ``"unified"``, one
    model of both level pairs); returns the model folder of each stage."""
    from terrasynth.workflows.train_metaearth import corpus_cascade, corpus_stage, train_metaearth

    settings = {k: v for k, v in recipe.items() if k not in (*_SAMPLING, "chip", "unified", "condition")}
    options = {"seed": seed, "sample_every_n_epochs": settings.get("max_epochs", 30), **settings}
    data = {"chip": recipe["chip"], "condition": recipe.get("condition", "coarser")}
    if recipe.get("unified"):
        dataset = corpus_cascade(corpus, ",".join(DEMO["levels"]), **data)
        return [train_metaearth(dataset, out / "metaearth-unified", **options)] * len(DEMO["levels"])
    models = []
    for level in DEMO["levels"]:
        dataset, _ = corpus_stage(corpus, level, first_stage=False, **data)
        models.append(train_metaearth(dataset, out / f"metaearth-{level}", **options))
    return models


def write_input(corpus: Path, path: Path) -> Path:
    """The corpus' real 60 m image as a GeoTIFF of reflectance (the cascade's input)."""
    from terrasynth.core import corpus_regions, open_corpus, reflectance

    tree = open_corpus(corpus)
    coarse = tree[f"{corpus_regions(tree)[0]}/60m"].to_dataset()
    path.parent.mkdir(parents=True, exist_ok=True)
    reflectance(coarse["image"]).rio.write_crs(coarse.rio.crs).rio.to_raster(path)
    return path


def generate_canvases(models: list[Path], start: Path, folder: Path, sampling: dict, seed: int = 0) -> None:
    """The demo's canvases from the 60 m ``start``: ``16m.tif``, then ``4m.tif`` from it."""
    from terrasynth.workflows.generate import generate

    canvas = DEMO["canvas"]
    options = {"seed": seed, "batch_size": 32, "show_progress": False, **sampling}
    stage16 = generate(
        [models[0]], folder / "16m.tif", from_path=start, size=(-(-canvas // 4),) * 2, gsd=16.0, **options
    )
    generate([models[-1]], folder / "4m.tif", from_path=stage16.path, size=(canvas, canvas), **options)


def measure(corpus: Path, folder: Path, start: Path, window: int, seed: int = 0, tile_size: int = 32) -> dict:
    """The figures of the module docstring for the canvases in ``folder``, per generated level.

    Tiles are ``tile_size`` pixels: the demo's 64 px leave no whole valid tile of the corpus at
    16 m (its edges lie outside the area) and a single one of the 64 px canvas."""
    import rasterio

    from terrasynth.evaluation.condition import condition_error
    from terrasynth.evaluation.image_sets import open_image_set
    from terrasynth.evaluation.seams import POOLED, SEAM_METRICS, seam_scores
    from terrasynth.workflows.evaluate_generation import evaluate_generation

    results = evaluate_generation(
        corpus, [folder], names=["cascade"], tile_size=tile_size, window_stride=window // 2,
        window_offset=window // 4, seed=seed, condition=start, rgb_bands=DEMO["rgb_bands"],
    )  # fmt: skip
    swd = results["distance"].sel(landcover="all", metric="swd")
    seams = results["seam"].sel(axis=POOLED)
    error = results["condition_error"]
    real = {canvas.level: canvas for canvas in open_image_set(corpus, rgb_bands=DEMO["rgb_bands"])}
    figures = {}
    for level in DEMO["levels"]:
        with rasterio.open(folder / f"{level}.tif") as canvas:
            rows, cols = canvas.shape
        reference = seam_scores(real[level].read(slice(0, rows), slice(0, cols))[0], stride=window // 2,
                                offset=window // 4)  # fmt: skip
        figures[level] = {
            "swd_generated": float(swd.sel(model="cascade", level=level)),
            "swd_bicubic": float(swd.sel(model="bicubic", level=level)),
            **{
                f"condition_{metric}{suffix}": float(
                    error.sel(model=model, level=level, condition_metric=metric)
                )
                for metric in error["condition_metric"].values
                for model, suffix in (("cascade", ""), ("bicubic", "_bicubic"))
            },
            **{
                f"seam_{metric}{suffix}": float(seams.sel(model=model, level=level, seam_metric=metric))
                for metric in SEAM_METRICS
                for model, suffix in (("cascade", ""), ("bicubic", "_bicubic"))
            },
            **{f"seam_{metric}_real": reference[(POOLED, metric)] for metric in SEAM_METRICS},
        }
    with rasterio.open(folder / "4m.tif") as fine, rasterio.open(folder / "16m.tif") as coarse:
        stage = condition_error(fine.read() * 1e-4, 4.0, coarse.read() * 1e-4, 16.0)
    figures["4m"] |= {f"stage_condition_{k}": v for k, v in stage.items()}
    return figures


def run(
    quick: bool = False,
    *,
    recipe: str = "residual-unified",
    overrides: dict | None = None,
    checkpoints: list[str] | None = None,
    seed: int = 0,
    draws: int = 1,
    keep: str | None = None,
    corpus: str | None = None,
) -> dict:
    """Train (or load) a cascade, generate the demo's canvas and measure it (see the module docstring).

    Args:
        quick: one training epoch (a smoke run; its figures mean little).
        recipe: a name in :data:`RECIPES`; ``overrides`` replace single settings.
        checkpoints: the two stages' model folders (16 m, 4 m) instead of training, or one model of
            both level pairs.
        seed: the synthetic world, the weights and every draw.
        draws: canvases generated with seeds ``seed``, ``seed + 1``, ...: the figures are their
            means, ``levels_std`` their standard deviations (the energy ratios of the 120 px
            16 m canvas, seven window cuts per axis, vary by about 0.06 from draw to draw, those
            of the 480 px 4 m canvas by about 0.01).
        keep: a folder to keep the corpus, models and canvases in (default: a temporary one).
        corpus: the demo's corpus, built before (default: build it).
    """
    settings = {**RECIPES[recipe], **(overrides or {})}
    if quick:
        settings["max_epochs"] = 1
    with tempfile.TemporaryDirectory(prefix="cascade-quality-") as scratch:
        root = Path(keep or scratch)
        corpus = Path(corpus) if corpus else build_corpus(root / "corpus.zarr", seed)
        began, cpu = time.perf_counter(), time.process_time()
        models = (
            [Path(p) for p in checkpoints]
            if checkpoints
            else train_stages(corpus, root / "models", settings, seed)
        )
        train_seconds, train_cpu = time.perf_counter() - began, time.process_time() - cpu
        sampling = {k: settings[k] for k in _SAMPLING if k in settings}
        window = _window(models[-1], sampling)
        draws_figures, generate_seconds, generate_cpu = [], [], []
        for draw in range(draws):
            canvas = root / ("canvas" if draw == 0 else f"canvas-{draw}")
            start = write_input(corpus, canvas / "input-60m.tif")
            began, cpu = time.perf_counter(), time.process_time()
            generate_canvases(models, start, canvas, sampling, seed + draw)
            generate_seconds.append(time.perf_counter() - began)
            generate_cpu.append(time.process_time() - cpu)
            draws_figures.append(measure(corpus, canvas, start, window, seed))
    figures = {level: {k: float(np.mean([d[level][k] for d in draws_figures])) for k in draws_figures[0][level]}
               for level in draws_figures[0]}  # fmt: skip
    return {
        "recipe": recipe if not checkpoints else "checkpoints",
        "settings": settings if not checkpoints else {"checkpoints": checkpoints, **sampling},
        "seed": seed,
        "draws": draws,
        "train_seconds": round(train_seconds, 1),
        "train_cpu_seconds": round(train_cpu, 1),
        "generate_seconds": round(float(np.mean(generate_seconds)), 1),
        "generate_cpu_seconds": round(float(np.mean(generate_cpu)), 1),
        "levels": figures,
        "levels_std": {
            level: {k: float(np.std([d[level][k] for d in draws_figures])) for k in draws_figures[0][level]}
            for level in draws_figures[0]
        },
        "targets_met": _targets(figures),
    }


def _window(model: Path, sampling: dict) -> int:
    config = json.loads((Path(model) / "config.json").read_text())
    return int(sampling.get("window") or config["window"])


def _targets(figures: dict) -> dict:
    """Whether each level meets the issue's targets: SWD below bicubic, seams in [0.95, 1.05]."""
    return {
        level: {
            "swd_below_bicubic": f["swd_generated"] < f["swd_bicubic"],
            "seam_ratio_in_range": 0.95 <= f["seam_energy_ratio"] <= 1.05,
        }
        for level, f in figures.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one training epoch (smoke run)")
    parser.add_argument("--recipe", default="residual-unified", choices=sorted(RECIPES))
    parser.add_argument("--set", action="append", default=[], metavar="KEY=JSON", help="override a setting")
    parser.add_argument("--checkpoint", action="append", help="a model folder instead of training (repeat)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--draws", type=int, default=1, help="canvases generated (seeds seed, seed + 1, ...)")
    parser.add_argument("--keep", help="keep the corpus, models and canvases in this folder")
    parser.add_argument("--corpus", help="the demo's corpus, built before")
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's choice)")
    parser.add_argument("--out", help="write the figures to this JSON file")
    args = parser.parse_args()
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    overrides = {key: json.loads(value) for key, value in (item.split("=", 1) for item in args.set)}
    results = run(
        args.quick, recipe=args.recipe, overrides=overrides, checkpoints=args.checkpoint, seed=args.seed, draws=args.draws,
        keep=args.keep, corpus=args.corpus,
    )  # fmt: skip
    text = json.dumps(results, indent=2, default=str)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
