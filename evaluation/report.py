"""The demo's report (``terrasynth demo``): what ran, its figures and its metric tables, in
Markdown, every number from the run's results."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from pathlib import Path

import xarray as xr

from terrasynth.evaluation.results import results_markdown
from terrasynth.evaluation.seams import cut_positions, grid_period


def demo_report(
    results: Mapping[str, xr.Dataset],
    *,
    settings,
    seed: int,
    steps: Mapping[str, float],
    figures: Mapping[str, Path],
    checkpoints: Path | None,
) -> str:
    """The demo's report in Markdown.

    Args:
        results: the run's ``generation`` and ``change`` results Datasets.
        settings: the run's ``terrasynth.workflows.demo.DemoSettings``.
        seed: the run's seed (of the synthetic world and every draw).
        steps: seconds each step took, by step name, in order.
        figures: the ``levels``, ``canvas`` and ``pairs`` figures (the change figures are named as
            :func:`terrasynth.evaluation.change_report.change_report_paths` names them for
            ``change.nc``), all in the report's folder.
        checkpoints: the folder of the bundled ``metaearth`` and ``changen2`` checkpoints used,
            or ``None`` when the run trained its own.
    """
    from terrasynth import __version__

    s, change, generation = settings, results["change"], results["generation"]
    scores = change["scores"].squeeze(["dataset", "split"], drop=True)
    f1 = scores.sel(metric="f1")
    timings = "\n".join(f"| {name} | {seconds:.0f} |" for name, seconds in steps.items())
    distances = generation["distance"]
    seams = generation["seam"].sel(level=["16m", "4m"])
    condition_errors = generation["condition_error"].sel(level=["16m", "4m"])
    features = (
        "FID and KID (Inception v3)" if "fid" in generation["metric"] else "SWD only: FID needs --inception"
    )
    bench = ", ".join(f"{n} {split}" for split, n in s.benchmark_pairs.items())
    detector_training = (
        ", the learning rate decayed to 0 on a cosine" if s.detector_schedule == "cosine" else ""
    )
    if s.detector_ema:
        detector_training += f", keeping the moving average of their weights (decay {s.detector_ema:g})"
    return f"""# terrasynth demo report

terrasynth {__version__}, seed {seed}, written {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC.
Everything below was computed by this run, on the synthetic world, from nothing downloaded.

| step | seconds |
|---|---:|
{timings}
| **total** | **{sum(steps.values()):.0f}** |

## 1. Corpus and cascade

A {s.area / 1000:g} km square of the synthetic world (seed {seed}, {s.date}) was ingested at 60, 16
and 4 m into `corpus.zarr`. {_metaearth_words(s, checkpoints)} Starting from the corpus' real 60 m image
(`canvas/input-60m.tif`), the model generated a {s.canvas_16m} x {s.canvas_16m} pixel canvas at 16 m
(`canvas/16m.tif`, georeferenced) and, from its top-left part, a {s.canvas} x {s.canvas} one at 4 m
(`canvas/4m.tif`), in sliding windows of {s.chip} pixels overlapping
by half ({NOISE_WORDS[s.noise]}), with {_solver_words(s)} over {s.steps} steps at strength {s.strength:g}:
{_strength_words(s)}.{_layout_words(s)}

![Real and generated images of the 4 m canvas' footprint at each level]({figures["levels"].name})

![The 4 m canvas with the lines where windows were cut and merged]({figures["canvas"].name})

The paper trains for days on GPUs. The `bicubic` rows below are the baseline every stage must
beat: the 60 m input upsampled bicubically to each level, which has the layout right and no
detail. Each level is scored against the real tiles of its canvas' ground. The condition error
says how far each canvas, averaged back onto the 60 m pixels, is from its input (reflectance; 0 = it
kept the layout exactly).

{_seam_words(s)}

{results_markdown(seams, columns="seam_metric")}

Distance of generated to real tiles by level and land cover ({features}):

{results_markdown(distances, columns="metric")}

Condition error of the canvases (their 60 m average against the input, reflectance):

{results_markdown(condition_errors, columns="condition_metric")}

## 2. Change data

Squares of {s.change_area:g} m on the edges of {s.change_towns} town{"s" if s.change_towns != 1 else ""} of the same world, where buildings stand,
were ingested at {s.change_gsd:g} m (`change/corpus.zarr`), with the buildings' footprints in their land
cover: at this resolution a house is an object of tens to hundreds of pixels, as in LEVIR-CD, where at
4 m it is a speck. The synthesized pairs' source tiles come from all of them: one town's tiles alone
make a narrower training set.
{_changen2_words(s, checkpoints)} It turned {s.synthetic_pairs} single-date tiles of {s.pair_size} pixels into pairs
of dates (`change/synthetic`, LEVIR-CD layout): buildings built on open ground and demolished to
bare ground on the land cover, labelled; other classes changing too (crops, soil, vegetation),
unlabelled, as between two real acquisitions; the second date drawn where the scene changed, with
{s.synthesis_steps} DDIM steps; and, everywhere, the second date seen with its own illumination,
sensor noise and sub-pixel registration, as a second acquisition is. Without the last two, a
detector learns "the pixels that differ are the change"; the benchmark's unlabelled land-cover
change then becomes its false positives.

![Synthesized pairs: date 1, date 2 and the change between them]({figures["pairs"].name})

## 3. Zero-shot change detection

A held-out benchmark was built from another synthetic world (seed {seed + 1}; {bench} pairs of
{s.pair_size} pixels at {s.change_gsd:g} m, LEVIR-CD layout, `change/benchmark`). Two `{s.detector_encoder}` ChangeStar
detectors were trained for {s.detector_steps} optimizer steps each (batches of {s.detector_batch}{detector_training}): **zero-shot** on
the synthesized pairs only, and **supervised** on the benchmark's own training split. Both were evaluated on its test split (one
confusion matrix over the split):

{results_markdown(scores, gap=True)}

Zero-shot F1 is {float(f1.sel(model="zero-shot")):.3f} against {float(f1.sel(model="supervised")):.3f}
supervised. Changen2 reports a gap of about 3 F1 points on LEVIR-CD with full-size models trained
for days; this run trains tiny models for minutes on a CPU.

![Precision against recall over thresholds](change_pr.png)

![Per-image F1](change_f1.png)

![Zero-shot predictions (false positives red, false negatives blue)](change_examples_zero-shot.png)

![Supervised predictions](change_examples_supervised.png)

## Files

`results.nc` holds every number above as xarray Datasets (groups `generation` and `change`):
`xarray.open_dataset("results.nc", group="change")`, or
`terrasynth.evaluation.open_results("results.nc", "change")`.

## Next steps

- A real corpus: `terrasynth ingest --source earthengine --aoi area.geojson --levels 60,16,4
  --start 2023-05-01 --end 2023-09-30 --project YOUR_PROJECT --out corpus.zarr` (see the README's
  Earth Engine set-up).
- On a GPU: `terrasynth demo --scale medium`, or train `base` and `paper` presets with
  `terrasynth train metaearth --preset base` (bf16, several GPUs with DDP).
"""


def _metaearth_words(s, checkpoints: Path | None) -> str:
    """Which MetaEarth model generated the canvas, and how it was trained."""
    if checkpoints is None:
        return (
            f"One `{s.preset}` MetaEarth model of both stages (60 -> 16 m and 16 -> 4 m, told their "
            f"resolutions) was trained in this run on {s.chip}-pixel tiles of it for "
            f"{s.cascade_epochs * s.cascade_steps} steps of {s.cascade_batch} tiles (`models/metaearth`)."
        )
    training = _checkpoint_words(checkpoints / "metaearth")
    return f"The bundled MetaEarth checkpoint, one model of both stages ({training})."


def _changen2_words(s, checkpoints: Path | None) -> str:
    """Which Changen2 model drew the pairs, and how it was trained."""
    if checkpoints is None:
        return (
            f"A `{s.changen2_preset}` Changen2 RS-DiT was trained in this run on its tiles and land cover "
            f"for {s.changen2_epochs * s.changen2_steps} steps (`models/changen2`)."
        )
    return f"The bundled Changen2 checkpoint ({_checkpoint_words(checkpoints / 'changen2')})."


def _checkpoint_words(folder: Path) -> str:
    """How a bundled checkpoint was trained, from its ``training.json``."""
    record = json.loads((folder / "training.json").read_text())
    world = record["world"]
    return (
        f"`{folder.parent.name}/{folder.name}`, trained from scratch by `{record['command']}`: "
        f"{record['optimizer_steps']} optimizer steps of {record['settings']['batch_size']} tiles of world "
        f"{world['seed']}, {record['seconds'] / 60:.0f} minutes on {record['threads']} CPU threads, "
        f"terrasynth {record['software_version']}"
    )


def _seam_words(s) -> str:
    """What the seam table's numbers mean, with the demo's grid periods and numbers of cuts."""
    stride, offset = s.chip // 2, s.chip // 4
    few, many = (len(cut_positions(size, stride, offset)) for size in (s.canvas_16m, s.canvas))
    return f"""Seam scores of the canvases. Energy ratio: the gradient energy across the window cuts over
that of the columns (rows) that are not cuts but sit at the same phase of the condition's pixel
grid: at 16 m the 60 m input's grid, which repeats every {grid_period(16.0, 60.0)} pixels; at 4 m the 16 m canvas'
grid, every {grid_period(4.0, 16.0)} pixels. Each stage keeps its condition's pixel grid, and a column's gradient
energy depends on where it sits in it; at 4 m every cut ({stride} pixels apart) meets the grid at
the same phase, so against all other columns the grid alone would score above 1. 1 = no seam; the
bicubic rows, which have no windows, show what a seamless canvas scores. The ratio averages the
cuts, {few} per axis at 16 m and {many} at 4 m, so the 16 m figure is the noisier; axis "both" pools
the cuts of x and y, twice as many; chance spread:
its standard deviation with the cuts moved to the offsets where no window was cut, so a ratio
within about two spreads of 1 shows no seam this canvas can tell from chance. Spectral peak:
the strength of the window stride in the gradient spectrum, not matched to the grid (read it
against the bicubic rows):"""


NOISE_WORDS = {
    "shared": "the same initial noise for every window, as in MetaEarth",
    "independent": "independent noise for every window",
    "field": "noise drawn from one field keyed by ground position, so any window or split of the "
    "canvas gets the same noise where they overlap; MetaEarth's shared noise repeats its pattern in "
    "every window, which a briefly trained model leaves visible",
    "average": "overlapping windows averaged at every step",
}


def _layout_words(s) -> str:
    if not s.keep_layout:
        return ""
    from terrasynth.models.metaearth.layout import BACK_PROJECTIONS

    return (
        " Each window then keeps its condition's layout: averaged onto the condition's pixels it gives"
        f" the condition back ({BACK_PROJECTIONS} passes of back-projection add the remaining difference,"
        " upsampled bicubically), and only the finer detail is the model's (without it a briefly trained"
        " model drifts from its input, each window by its own amount)."
    )


def _solver_words(s) -> str:
    if s.solver_16m == s.solver:
        return s.solver
    return f"{s.solver_16m} at 16 m and {s.solver} at 4 m"


def _strength_words(s) -> str:
    if s.strength == 1:
        return "every window starts from pure noise, as in MetaEarth"
    return (
        f"every window starts from its upsampled condition noised to the level of step "
        f"{s.steps - round(s.steps * s.strength) + 1}, and the last {round(s.steps * s.strength)} steps run "
        "(1 would start from pure noise as MetaEarth does; briefly trained models err most on the noisiest steps)"
    )
