"""``terrasynth demo``: the whole system on the synthetic world, with no network and no credentials.

One call runs, in order (each step's outputs in a folder of ``out``)::

    corpus/      ingest a small area of the synthetic world at 60, 16 and 4 m
    change/      ingest squares on the edges of towns at 1 m, with building footprints
    models/      with ``from_scratch``: train one MetaEarth model of both stages (60 -> 16 m,
                 16 -> 4 m) and a Changen2 RS-DiT; else use the bundled checkpoints
    canvas/      generate an unbounded 4 m canvas from the corpus' real 60 m image
    change/      synthesize change pairs from the 1 m tiles; build a held-out change benchmark
                 from another synthetic world
    models/      train a detector on the synthesized pairs (zero-shot) and one on the benchmark's
                 own training split (supervised)
    report/      results.nc (groups ``generation`` and ``change``), report.md and its figures

Every number in the report comes from this run. ``scale="small"`` fits about ten minutes on two
CPU cores; ``"medium"`` is for a GPU.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from pydantic import Field, model_validator

from terrasynth.core.choices import MetaEarthPreset, NoiseMode, RSDiTPreset, Solver
from terrasynth.core.config import Config
from terrasynth.workflows.bundled import BUNDLED

if TYPE_CHECKING:
    from terrasynth.trainers.settings import TrainSettings


class DemoSettings(Config):
    """The sizes of one demo run (areas in metres, images and chips in pixels)."""

    centre: tuple[float, float] = Field(
        (9.179, 45.808), description="longitude, latitude of the 4 m canvas' ground and of the towns"
    )
    area: float = Field(
        4000.0,
        gt=0,
        description="side in metres of the square area ingested for the cascade, east and south of the 4 m "
        "canvas' north-west corner (at least the 16 m canvas' footprint)",
    )
    date: str = "2021-06-01"
    tile_size: int = Field(64, ge=16, description="corpus chunk edge in pixels")
    bundled: bool = Field(
        True,
        description="use the bundled checkpoints (tiny models) unless from scratch; False trains this scale's",
    )
    preset: MetaEarthPreset = "tiny"
    chip: int = Field(32, ge=8, description="training tile of both cascade stages, pixels")
    cascade_epochs: int = Field(
        10,
        ge=1,
        description="epochs of a cascade trained in the run (seed 0, from scratch: 3 gave SWD 134 and 200 "
        "against bicubic's 103 and 193 at 16 and 4 m, 10 gave 75 and 94)",
    )
    cascade_steps: int = Field(40, ge=1, description="optimizer steps per epoch of each stage")
    cascade_batch: int = Field(16, ge=1)
    canvas: int = Field(
        480,
        ge=16,
        description="edge of the generated 4 m canvas in pixels (30 window strides: seam scores need many cuts)",
    )
    canvas_16m: int = Field(
        240,
        ge=16,
        description="edge of the generated 16 m canvas in pixels; the 4 m canvas refines its top-left part. "
        "The 4 m canvas' footprint alone holds 9 tiles and 7 window cuts per axis at 16 m, too few to tell "
        "the cascade from bicubic (seeds 0-2: the real image itself scored 0.77-1.02 of bicubic's SWD there, "
        "0.46-0.72 on 240 px)",
    )
    steps: int = Field(10, ge=1, description="sampling steps of every generation (from pure noise)")
    # DDIM: at strength 0.4 the 10 steps leave 4. Over eight areas (benchmarks/cascade_distances.py)
    # DPM-Solver++ there scored 0.51 of bicubic's SWD against DDIM's 0.46, and DDIM with 20 steps
    # 0.46 again (per area within 0.01 of 10 steps)
    solver: Solver = Field("ddim", description="the 4 m stage's sampler (see terrasynth generate)")
    solver_16m: Solver = Field(
        "dpm++",
        description="the 16 m stage's sampler: over eight areas (benchmarks/cascade_distances.py) DPM-Solver++ "
        "brought the 16 m SWD to 0.78 of bicubic's (below it in 8 of 8 areas), against DDIM's 0.82 (7 of 8); "
        "the 4 m canvases refined from it scored 0.46 against 0.44, within their standard error (0.04)",
    )
    noise: NoiseMode = Field(
        "field", description="initial noise of the windows (shared: MetaEarth's; see terrasynth generate)"
    )
    strength: float = Field(
        0.4,
        gt=0,
        le=1,
        description="cascade windows start from their condition noised this far (1: pure noise)",
    )
    generation_batch: int = Field(32, ge=1, description="windows per denoiser call")
    keep_layout: bool = Field(
        True,
        description="windows take their coarse scales from their condition, their finer detail from the model "
        "(see terrasynth generate --keep-layout)",
    )
    change_gsd: float = Field(
        1.0,
        gt=0,
        description="metres per pixel of the change data: buildings are objects at 1 m, specks at 4 m",
    )
    change_area: float = Field(
        640.0, gt=0, description="side in metres of each square of the change corpus, on a town's edge"
    )
    change_towns: int = Field(
        4,
        ge=1,
        description="towns whose edges make the change corpus: the synthesized pairs' source tiles come "
        "from all of them (seed 0: one town's 25 tiles taught the zero-shot detector F1 0.63, four "
        "towns' 100 tiles 0.74)",
    )
    changen2_preset: RSDiTPreset = "tiny"
    changen2_chip: int = Field(64, ge=16)
    changen2_epochs: int = Field(
        10,
        ge=1,
        description="epochs of a Changen2 trained in the run (seed 0, from scratch: 3 gave zero-shot F1 0.54, "
        "5 gave 0.63, 10 gave 0.74, against the supervised 0.78)",
    )
    changen2_steps: int = Field(80, ge=1, description="optimizer steps per epoch")
    synthetic_pairs: int = Field(
        128,
        ge=2,
        description="pairs synthesized to train the zero-shot detector (seed 0, four towns: 64 gave "
        "zero-shot F1 0.74, 128 gave 0.78)",
    )
    synthesis_steps: int = Field(20, ge=1, description="DDIM steps of every synthesized date")
    pair_size: int = Field(128, ge=16, description="edge of synthesized and benchmark pairs, pixels")
    benchmark_pairs: dict[str, int] = Field(default_factory=lambda: {"train": 64, "val": 0, "test": 32})
    detector_encoder: str = "resnet18"
    detector_steps: int = Field(
        240,
        ge=1,
        description="optimizer steps of each detector, in whole passes over its training set (the same "
        "training for both, whatever their sizes)",
    )
    detector_batch: int = Field(8, ge=1)
    detector_schedule: Literal["constant", "cosine"] = "constant"
    detector_ema: float | None = Field(
        0.99,
        gt=0,
        lt=1,
        description="each detector keeps the moving average of its weights (see TrainSettings.ema_decay): seed 0, "
        "detector seeds 0-3, supervised F1 0.782 +- 0.016 against 0.745 +- 0.082 with the last weights, where "
        "one seed stopped at 0.63 (measured as benchmarks/detector_spread.py does)",
    )
    detector_change_balance: float = Field(
        0.5, ge=0, le=1, description="weighting of the rare changed pixels (see TrainSettings.change_balance)"
    )
    detector_seed: int | None = Field(
        None,
        description="seed of both detectors' weights, batch order and augmentations; None: the run's seed",
    )

    @model_validator(mode="after")
    def _canvases_fit(self) -> DemoSettings:
        if self.canvas_16m * 16 < self.canvas * 4:
            raise ValueError(
                f"the 16 m canvas ({self.canvas_16m} px) must cover the 4 m one ({self.canvas} px): "
                f"give canvas_16m of at least {-(-self.canvas // 4)}"
            )
        if self.canvas_16m * 16 > self.area:
            raise ValueError(
                f"the {self.canvas_16m} px 16 m canvas reaches past the {self.area:g} m area: give an area of "
                f"at least {self.canvas_16m * 16} m"
            )
        return self

    def sampling(self, level: str) -> dict[str, Any]:
        """The sampler options of the demo's canvas at ``level`` (``16m`` or ``4m``; those of
        :func:`terrasynth.workflows.generate.generate`)."""
        return {
            "steps": self.steps, "solver": self.solver_16m if level == "16m" else self.solver, "noise": self.noise,
            "strength": self.strength, "keep_layout": self.keep_layout, "batch_size": self.generation_batch,
        }  # fmt: skip


SCALES: dict[str, DemoSettings] = {
    "small": DemoSettings(),
    "medium": DemoSettings(
        area=9000.0, tile_size=256, bundled=False, preset="base", chip=64, cascade_epochs=30, canvas=2048, canvas_16m=512, steps=50, noise="shared", strength=1.0,
        changen2_preset="S", changen2_chip=256, changen2_epochs=50, synthetic_pairs=512, pair_size=256,
        benchmark_pairs={"train": 512, "val": 64, "test": 128}, detector_steps=1600, detector_batch=16,
    ),
}  # fmt: skip
"""``small``: about ten minutes on two CPU cores, with the bundled checkpoints. ``medium``: for a GPU,
training its own larger models."""


@dataclass
class DemoRun:
    """What a demo wrote, and how long each step took (seconds)."""

    out: Path
    settings: DemoSettings
    seed: int
    inception_weights: Path | None = None
    progress: bool = False
    """Show each step's progress bar (training steps always show theirs)."""
    checkpoints: Path | None = BUNDLED
    """The pretrained generative models used (``metaearth/``, ``changen2/``); None: trained in the run."""
    steps: dict[str, float] = field(default_factory=dict)
    results: dict = field(default_factory=dict)
    """Result Datasets by part (``generation``, ``change``), gathered into ``results.nc``."""

    def path(self, *parts: str) -> Path:
        return self.out.joinpath(*parts)

    @property
    def change_corpus(self) -> Path:
        return self.path("change", "corpus.zarr")

    @property
    def metaearth(self) -> Path:
        """The MetaEarth model folder (bundled, or trained by the run): one model of both stages."""
        if self.checkpoints is not None:
            return self.checkpoints / "metaearth"
        return self.path("models", "metaearth", "model")

    @property
    def changen2(self) -> Path:
        """The Changen2 model folder (bundled, or trained by the run)."""
        if self.checkpoints is not None:
            return self.checkpoints / "changen2"
        return self.path("models", "changen2", "model")

    @property
    def report(self) -> Path:
        return self.path("report", "report.md")

    @property
    def results_file(self) -> Path:
        return self.path("report", "results.nc")


def run_demo(
    out: str | Path,
    *,
    seed: int = 0,
    scale: str | DemoSettings = "small",
    inception_weights: str | Path | None = None,
    from_scratch: bool = False,
    on_step: Callable[[str, int, int], None] | None = None,
    progress: bool = False,
) -> DemoRun:
    """Run the demo into ``out`` and return what it wrote (see the module docstring).

    Args:
        seed: the synthetic world and every random draw of the run.
        scale: ``"small"``, ``"medium"`` or explicit :class:`DemoSettings`.
        inception_weights: the local ``pt_inception-2015-12-05-6726825d.pth``; FID and KID are
            added to the generative metrics when given.
        from_scratch: train the generative models in the run instead of using the bundled
            checkpoints (:data:`BUNDLED`); detectors are trained in every run.
        on_step: called with each step's name, number (from 1) and the number of steps as it
            starts (for progress display).
        progress: show the progress bars of ingest, generation, synthesis and detector training.
    """
    from terrasynth.core.errors import ConfigError
    from terrasynth.core.outputs import check_output
    from terrasynth.evaluation.inception import check_inception_weights

    if isinstance(scale, str):
        if scale not in SCALES:
            raise ConfigError(f"--scale {scale!r} is unknown: use one of {', '.join(SCALES)}")
        scale = SCALES[scale]
    out = check_output(out, folder=True)  # a new or empty folder it can write, before step 1
    if inception_weights is not None:
        inception_weights = check_inception_weights(inception_weights)  # not only at step 9
    checkpoints = None if from_scratch or not scale.bundled else check_checkpoints(BUNDLED)
    run = DemoRun(out, scale, seed, inception_weights, progress, checkpoints)
    chosen = steps(run)
    for number, (name, step) in enumerate(chosen, start=1):
        if on_step:
            on_step(name, number, len(chosen))
        started = time.perf_counter()
        step(run)
        run.steps[name] = round(time.perf_counter() - started, 1)
    return run


def check_checkpoints(folder: Path) -> Path:
    """``folder`` if it holds both bundled models, else a one-line error saying how to make them."""
    from terrasynth.core.errors import WeightsError

    for name, index in (("metaearth", "config.json"), ("changen2", "model_index.json")):
        if not (folder / name / index).is_file():
            raise WeightsError(
                f"{folder / name} holds no bundled checkpoint: run `terrasynth train {name}-checkpoint "
                f"--out {folder / name}`, or `terrasynth demo --from-scratch`"
            )
    return folder


def generation_area(settings: DemoSettings, east: float = 0.0):
    """The area the cascade's corpus covers: a square of ``settings.area`` metres whose north-west
    corner is that of the 4 m canvas' ground (``settings.canvas * 4`` metres square around
    ``settings.centre``), moved ``east`` metres; the canvases start at that corner."""
    from terrasynth.core import AreaOfInterest, metres_per_degree

    lon, lat = settings.centre
    along_lon, along_lat = metres_per_degree(lat)
    west = lon + (east - settings.canvas * 2.0) / along_lon
    north = lat + settings.canvas * 2.0 / along_lat
    return AreaOfInterest.from_bbox(
        west, north - settings.area / along_lat, west + settings.area / along_lon, north
    )


def _ingest(run: DemoRun) -> None:
    from terrasynth.ingest.synthetic import SyntheticSource
    from terrasynth.workflows.ingest import run_ingest

    s = run.settings
    source = SyntheticSource(seed=run.seed, date=s.date)
    run_ingest(source, generation_area(s), run.path("corpus.zarr"), levels="60,16,4", tile_size=s.tile_size,
               scheduler="threads", progress=run.progress)  # fmt: skip


def _train_cascade(run: DemoRun) -> None:
    from terrasynth.workflows.cascade_checkpoint import TRAINING
    from terrasynth.workflows.train_metaearth import corpus_cascade, train_metaearth

    s = run.settings
    # the bundled checkpoint's recipe (one model for 60 -> 16 and 16 -> 4 m), at the run's size
    recipe = {**TRAINING, "preset": s.preset, "max_epochs": s.cascade_epochs, "steps_per_epoch": s.cascade_steps,
              "batch_size": s.cascade_batch, "seed": run.seed, "sample_every_n_epochs": s.cascade_epochs}  # fmt: skip
    train_metaearth(corpus_cascade(run.path("corpus.zarr"), "all", chip=s.chip), run.path("models", "metaearth"),
                    **recipe)  # fmt: skip


def _generate(run: DemoRun) -> None:
    from terrasynth.core import corpus_regions, open_corpus, reflectance
    from terrasynth.workflows.generate import generate

    s = run.settings
    tree = open_corpus(run.path("corpus.zarr"))
    coarse = tree[f"{corpus_regions(tree)[0]}/60m"].to_dataset()
    start = run.path("canvas", "input-60m.tif")
    start.parent.mkdir(parents=True)
    reflectance(coarse["image"]).rio.write_crs(coarse.rio.crs).rio.to_raster(start)
    # 60 -> 16 m from the input's corner, then 16 -> 4 m over the top-left part of that canvas, by
    # the one model of both level pairs
    options: dict[str, Any] = {"seed": run.seed, "show_progress": run.progress}
    stage16 = generate([run.metaearth], run.path("canvas", "16m.tif"), from_path=start, gsd=16.0,
                       size=(s.canvas_16m, s.canvas_16m), **options, **s.sampling("16m"))  # fmt: skip
    generate([run.metaearth], run.path("canvas", "4m.tif"), from_path=stage16.path, gsd=4.0,
             size=(s.canvas, s.canvas), **options, **s.sampling("4m"))  # fmt: skip


def _ingest_change(run: DemoRun) -> None:
    from terrasynth.ingest.synthetic import SyntheticSource, town_edges
    from terrasynth.workflows.ingest import run_ingest

    s = run.settings
    area = town_edges(run.seed, s.centre, count=s.change_towns, side=s.change_area, date=s.date)
    source = SyntheticSource(seed=run.seed, date=s.date)
    run_ingest(source, area, run.change_corpus, levels=f"{s.change_gsd:g}", tile_size=128,
               scheduler="threads", progress=run.progress)  # fmt: skip


def _train_changen2(run: DemoRun) -> None:
    from terrasynth.workflows.train_changen2 import train_on_corpus

    s = run.settings
    train_on_corpus(
        run.change_corpus, f"{s.change_gsd:g}m", run.path("models", "changen2"), tile_size=s.changen2_chip,
        preset=s.changen2_preset, mask="landcover", prediction="sample", max_epochs=s.changen2_epochs,
        steps_per_epoch=s.changen2_steps, batch_size=s.cascade_batch, learning_rate=1e-3, seed=run.seed,
        sample_every_n_epochs=s.changen2_epochs,
    )  # fmt: skip


def _synthesize(run: DemoRun) -> None:
    from terrasynth.workflows.synthesize import synthesize

    s = run.settings
    # building changes only, as the benchmark labels them (LEVIR-CD style)
    synthesize(run.changen2, run.change_corpus, run.path("change", "synthetic"), pairs=s.synthetic_pairs,
               length=2, size=s.pair_size, seed=run.seed, steps=s.synthesis_steps, change="buildings",
               level=f"{s.change_gsd:g}m", gsd=s.change_gsd,
               batch_size=s.cascade_batch, show_progress=run.progress)  # fmt: skip


def _benchmark(run: DemoRun) -> None:
    from terrasynth.ingest.synthetic import build_change_benchmark

    s = run.settings
    # another world (seed + 1): nothing of it was seen by the generative models
    build_change_benchmark(run.path("change", "benchmark"), "levir-cd", seed=run.seed + 1,
                           pairs_per_split=s.benchmark_pairs, size=s.pair_size, gsd=s.change_gsd)  # fmt: skip


def _train_detectors(run: DemoRun) -> None:
    from terrasynth.datasets import open_change_dataset
    from terrasynth.workflows.train_detector import train_detector

    s = run.settings
    config = {"encoder": s.detector_encoder, "decoder_channels": 64}
    training_sets = {
        "zero-shot": open_change_dataset("folder", run.path("change", "synthetic"), "train"),
        "supervised": open_change_dataset("levir-cd", run.path("change", "benchmark"), "train"),
    }
    for name, dataset in training_sets.items():
        settings = detector_settings(s, len(dataset), run.seed)
        train_detector(dataset, run.path("models", f"detector-{name}"), config=config, settings=settings,
                       progress=run.progress, data_name=name)  # fmt: skip


def detector_settings(settings: DemoSettings, samples: int, seed: int) -> TrainSettings:
    """How the demo trains a detector on ``samples`` pairs: ``detector_steps`` optimizer steps in
    whole passes, seeded by ``detector_seed`` or else the run's ``seed``."""
    from terrasynth.trainers.settings import TrainSettings

    epochs = math.ceil(settings.detector_steps / math.ceil(samples / settings.detector_batch))
    return TrainSettings(
        epochs=epochs, batch_size=settings.detector_batch, crop_size=0, learning_rate=1e-3,
        schedule=settings.detector_schedule, change_balance=settings.detector_change_balance,
        ema_decay=settings.detector_ema, seed=seed if settings.detector_seed is None else settings.detector_seed,
    )  # fmt: skip


def _evaluate_change(run: DemoRun) -> None:
    from terrasynth.datasets import open_change_dataset
    from terrasynth.workflows.evaluate_change import compare_checkpoints

    test = open_change_dataset("levir-cd", run.path("change", "benchmark"), "test")
    checkpoints = {
        name: run.path("models", f"detector-{name}", "model") for name in ("zero-shot", "supervised")
    }
    # the figures (precision-recall, F1 histogram, examples) go beside change.nc in report/
    run.results["change"] = compare_checkpoints(
        test,
        checkpoints,
        dataset_name="synthetic-levir",
        split="test",
        window=run.settings.pair_size,
        out=run.path("report", "change.nc"),
    )


def change_figures(change) -> dict[str, float | None]:
    """Zero-shot and supervised F1 of the demo's change results (``run.results["change"]``) and
    their ratio, to 4 decimals; the ratio is None where the supervised F1 is 0."""
    f1 = change["scores"].sel(metric="f1").squeeze(drop=True)
    zero_shot, supervised = float(f1.sel(model="zero-shot")), float(f1.sel(model="supervised"))
    return {
        "zero_shot_f1": round(zero_shot, 4),
        "supervised_f1": round(supervised, 4),
        "f1_ratio": round(zero_shot / supervised, 4) if supervised > 0 else None,
    }


def _evaluate_generation(run: DemoRun) -> None:
    from terrasynth.workflows.evaluate_generation import evaluate_generation

    window = run.settings.chip
    run.results["generation"] = evaluate_generation(
        run.path("corpus.zarr"), [run.path("canvas")], names=["cascade"], inception_weights=run.inception_weights,
        # tiles of one window, against the real ones of each canvas' ground (the 4 m canvas covers a
        # quarter of the area)
        tile_size=window, window_stride=window // 2, window_offset=window // 4,
        seed=run.seed, condition=run.path("canvas", "input-60m.tif"), real_under_canvases=True,
    )  # fmt: skip


def _report(run: DemoRun) -> None:
    from terrasynth.datasets import open_change_dataset
    from terrasynth.evaluation.figures import canvas_figure, levels_figure, pairs_figure
    from terrasynth.evaluation.report import demo_report
    from terrasynth.evaluation.results import save_results

    save_results(run.results, run.results_file)
    run.path("report", "change.nc").unlink()  # now the "change" group of results.nc
    pairs = open_change_dataset("folder", run.path("change", "synthetic"), "train")
    figures = {
        "levels": levels_figure(*_level_images(run), run.path("report", "levels.png")),
        "canvas": canvas_figure(_raster(run.path("canvas", "4m.tif")), run.path("report", "canvas.png"),
                                window=run.settings.chip),
        "pairs": pairs_figure(pairs, run.path("report", "pairs.png")),
    }  # fmt: skip
    report = demo_report(run.results, settings=run.settings, seed=run.seed, steps=run.steps, figures=figures,
                         checkpoints=run.checkpoints)  # fmt: skip
    run.report.write_text(report)


def _level_images(run: DemoRun) -> tuple[dict[float, np.ndarray], dict[float, np.ndarray], np.ndarray]:
    """The real (corpus) and generated images of the canvas' footprint by level (metres per pixel ->
    (band, y, x) reflectance x 1e4), and the 60 m input the canvas was generated from (reflectance)."""
    from terrasynth.core import corpus_regions, open_corpus

    tree = open_corpus(run.path("corpus.zarr"))
    region = corpus_regions(tree)[0]
    footprint = run.settings.canvas * 4.0  # metres from the grid's top-left corner
    real, generated = {}, {}
    for gsd in (60.0, 16.0, 4.0):
        size = int(-(-footprint // gsd))
        real[gsd] = tree[f"{region}/{gsd:g}m"]["image"][:, :size, :size].values
        canvas = run.path("canvas", f"{gsd:g}m.tif")
        if canvas.exists():
            generated[gsd] = _raster(canvas)[:, :size, :size]
    return real, generated, _raster(run.path("canvas", "input-60m.tif"))


def _raster(path: Path) -> np.ndarray:
    """The (band, y, x) values of a GeoTIFF (the canvases share the input's top-left corner)."""
    import rasterio

    with rasterio.open(path) as source:
        return source.read()


def steps(run: DemoRun) -> list[tuple[str, Callable[[DemoRun], None]]]:
    """The demo's steps in order: (name, function of the run); the generative models are trained
    only without bundled checkpoints."""
    scratch = run.checkpoints is None
    return [
        ("ingest the synthetic world", _ingest),
        (f"ingest the edges of towns at {run.settings.change_gsd:g} m", _ingest_change),
        *([("train the MetaEarth cascade", _train_cascade)] if scratch else []),
        ("generate an unbounded canvas", _generate),
        *([("train Changen2", _train_changen2)] if scratch else []),
        ("synthesize change pairs", _synthesize),
        ("build a held-out change benchmark", _benchmark),
        ("train the change detectors", _train_detectors),
        ("evaluate change detection", _evaluate_change),
        ("evaluate generation", _evaluate_generation),
        ("write the report", _report),
    ]
