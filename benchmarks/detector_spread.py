"""How far the demo's change figures move with the detectors' own randomness: the spread that
decides whether two machines' demo runs agree (issue 13 asks for zero-shot F1 within 0.03).

The demo's change data (the towns' edges at 1 m, the synthesized pairs, the held-out benchmark) is
made once for the world ``--seed`` with the bundled Changen2 checkpoint. Then both detectors are
trained again for every detector seed and every variant of the demo's detector training
(:data:`VARIANTS`), with the demo's other settings, and scored on the benchmark's test split. Another machine adds in another order (other SIMD widths,
other thread counts); a few hundred optimizer steps carry that rounding as far as another seed
would, so the spread over detector seeds is the spread to expect between machines.

Figures per variant: every seed's ``zero_shot_f1``, ``supervised_f1`` and ``f1_ratio``, and each
one's ``mean``, ``std`` (over seeds) and ``range`` (largest minus smallest).

    uv run python benchmarks/detector_spread.py --detector-seeds 0,1,2,3 --variants last,demo

Four seeds of two variants train 16 detectors: about 35 minutes on two CPU cores. ``--quick``
runs two seeds of one variant at a tiny size: the figures then only show that it works.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from terrasynth.workflows.demo import change_figures

CHANGE_DATA = ("ingest the edges of towns", "synthesize change pairs", "build a held-out change benchmark")
"""The demo's steps (by the start of their names) that make the change data."""
DETECTION = ("train the change detectors", "evaluate change detection")
"""The demo's steps that train and score the detectors."""
FIGURES = ("zero_shot_f1", "supervised_f1", "f1_ratio")
VARIANTS = {
    "demo": {},
    "last": {"detector_schedule": "constant", "detector_ema": None},
    "cosine": {"detector_schedule": "cosine", "detector_ema": None},
}
"""Ways to train the demo's detectors, as changes to its DemoSettings: its own (the moving average
of the weights), the last weights of a constant learning rate, the last of one decayed on a cosine."""


def run(
    quick: bool = False,
    seed: int = 0,
    detector_seeds: Sequence[int] = (0, 1, 2, 3),
    variants: Sequence[str] = ("last", "demo"),
    out: Path | None = None,
) -> dict:
    from terrasynth.workflows.demo import BUNDLED, SCALES, DemoRun, DemoSettings, check_checkpoints, steps

    settings = SCALES["small"]
    if quick:
        settings = DemoSettings(
            change_gsd=2.0, change_area=128.0, synthetic_pairs=4, synthesis_steps=2, pair_size=32,
            benchmark_pairs={"train": 4, "val": 0, "test": 2}, detector_steps=2, detector_batch=2,
        )  # fmt: skip
        detector_seeds, variants = detector_seeds[:2], variants[:1]
    unknown = sorted(set(variants) - set(VARIANTS))
    if unknown:
        raise SystemExit(f"unknown variant(s) {unknown}: use {', '.join(VARIANTS)}")
    checkpoints = check_checkpoints(BUNDLED)
    result: dict = {"seed": seed, "detector_steps": settings.detector_steps}
    with tempfile.TemporaryDirectory(prefix="terrasynth-detector-spread-") as scratch:
        world = DemoRun(Path(scratch) / "world", settings, seed, checkpoints=checkpoints)
        for name, step in steps(world):
            if name.startswith(CHANGE_DATA):
                step(world)
        for variant in variants:
            per_seed = []
            for detector_seed in detector_seeds:
                chosen = settings.model_copy(update={**VARIANTS[variant], "detector_seed": detector_seed})
                trial = DemoRun(
                    Path(scratch) / f"{variant}-{detector_seed}", chosen, seed, checkpoints=checkpoints
                )
                trial.out.mkdir()
                (trial.out / "change").symlink_to(world.path("change"))  # the same pairs for every trial
                for name, step in steps(trial):
                    if name.startswith(DETECTION):
                        step(trial)
                per_seed.append({"detector_seed": detector_seed, **change_figures(trial.results["change"])})
            result[variant] = {"seeds": per_seed, **{name: spread(per_seed, name) for name in FIGURES}}
    if out is not None:
        Path(out).write_text(json.dumps(result, indent=2) + "\n")
    return result


def spread(per_seed: list[dict], name: str) -> dict:
    """Mean, standard deviation (over seeds, ddof 1) and range of one figure; None where it has
    fewer than two values (a ratio is None where the supervised F1 is 0)."""
    values = np.array([trial[name] for trial in per_seed if trial[name] is not None], dtype=float)
    if len(values) < 2:
        return {"mean": None, "std": None, "range": None}
    return {
        "mean": round(float(values.mean()), 4),
        "std": round(float(values.std(ddof=1)), 4),
        "range": round(float(values.max() - values.min()), 4),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=0, help="the synthetic world (the demo's --seed)")
    parser.add_argument("--detector-seeds", default="0,1,2,3", help="comma-separated detector seeds")
    parser.add_argument("--variants", default="last,demo", help=f"comma-separated, of {', '.join(VARIANTS)}")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    seeds = [int(value) for value in args.detector_seeds.split(",")]
    figures = run(args.quick, args.seed, seeds, args.variants.split(","), args.out)
    print(json.dumps(figures, indent=2))
