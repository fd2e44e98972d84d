"""Fewer steps per window: the demo's canvas with DPM-Solver++ at 10, 20 and 50 steps against DDIM
at 50 (and DDIM at 20, for contrast), from the bundled checkpoint on the demo's corpus.

For each sampler and generated level (16 m, 4 m) it records, as :mod:`cascade_quality` does:

- ``swd_generated``: Laplacian SWD of the canvas against the corpus' real tiles of that level
  (lower is better), with ``swd_bicubic`` the bicubic upsampling's for scale;
- ``rmse_to_reference``: root mean square difference, reflectance, from the canvas of 50 DDIM
  steps of the same seed (both solve the same probability-flow ODE from the same noise, so this
  is how far fewer steps stray from the reference's solution);
- ``generate_seconds`` and ``generate_cpu_seconds`` of both stages.

``holds_quality`` says whether a sampler's SWD at every level is at most the reference's plus
``tolerance`` (default 5 %, about the spread of the SWD between seeds at this size) in every
draw's mean. Steps are the ``--steps`` a user gives; at ``strength`` below 1 the last
``round(steps * strength)`` of them run (default 1, as ``terrasynth generate``; the demo's is 0.4).

    OMP_NUM_THREADS=1 uv run python benchmarks/solver_steps.py --out benchmarks/results/solver_steps.json
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import tempfile
import time
from pathlib import Path

import numpy as np


def _sibling(name: str):
    """The benchmark module ``benchmarks/<name>.py`` (benchmarks are scripts, not a package)."""
    spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name(f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


cascade_quality = _sibling("cascade_quality")
DEMO = cascade_quality.DEMO
CHECKPOINT = Path(__file__).resolve().parents[1] / "checkpoints" / "metaearth"
SAMPLERS = {
    "ddim-50": ("ddim", 50),
    "dpm++-10": ("dpm++", 10),
    "dpm++-20": ("dpm++", 20),
    "dpm++-50": ("dpm++", 50),
    "ddim-20": ("ddim", 20),
}
"""Name -> (solver, steps); the first is the reference."""
REFERENCE = "ddim-50"


def run(
    quick: bool = False,
    *,
    noise: str = "field",
    strength: float = 1.0,
    draws: int = 1,
    seed: int = 0,
    tolerance: float = 0.05,
    checkpoint: Path = CHECKPOINT,
) -> dict:
    """Generate and measure the demo's canvas with every sampler of :data:`SAMPLERS` (``quick``:
    the reference and DPM-Solver++ at 10 steps only); ``draws`` seeds from ``seed``."""
    import rasterio

    samplers = {k: SAMPLERS[k] for k in (REFERENCE, "dpm++-10")} if quick else SAMPLERS
    results: dict[str, list[dict]] = {name: [] for name in samplers}
    with tempfile.TemporaryDirectory(prefix="solver-steps-") as scratch:
        root = Path(scratch)
        corpus = cascade_quality.build_corpus(root / "corpus.zarr", seed)
        window = json.loads((checkpoint / "config.json").read_text())["window"]
        for draw in range(draws):
            start = cascade_quality.write_input(corpus, root / f"input-{draw}" / "input-60m.tif")
            for name, (solver, steps) in samplers.items():
                folder = root / f"{name}-{draw}"
                sampling = {"solver": solver, "steps": steps, "noise": noise, "strength": strength}
                began, cpu = time.perf_counter(), time.process_time()
                cascade_quality.generate_canvases([checkpoint], start, folder, sampling, seed + draw)
                seconds, cpu_seconds = time.perf_counter() - began, time.process_time() - cpu
                figures = cascade_quality.measure(corpus, folder, start, window, seed)
                for level in DEMO["levels"]:
                    with (
                        rasterio.open(folder / f"{level}.tif") as canvas,
                        rasterio.open(root / f"{REFERENCE}-{draw}" / f"{level}.tif") as reference,
                    ):
                        difference = canvas.read().astype(np.float64) - reference.read()
                    figures[level]["rmse_to_reference"] = float(np.sqrt(np.mean((difference * 1e-4) ** 2)))
                results[name].append(
                    {
                        "levels": {
                            level: {
                                k: figures[level][k]
                                for k in ("swd_generated", "swd_bicubic", "rmse_to_reference")
                            }
                            for level in DEMO["levels"]
                        },
                        "generate_seconds": seconds,
                        "generate_cpu_seconds": cpu_seconds,
                    }
                )
    summary = {name: _mean(runs) for name, runs in results.items()}
    reference = summary[REFERENCE]["levels"]
    for figures in summary.values():
        figures["holds_quality"] = all(
            figures["levels"][level]["swd_generated"] <= reference[level]["swd_generated"] * (1 + tolerance)
            for level in DEMO["levels"]
        )
    holding = [
        name for name, figures in summary.items() if name.startswith("dpm++") and figures["holds_quality"]
    ]
    return {
        "checkpoint": str(checkpoint),
        "noise": noise,
        "strength": strength,
        "draws": draws,
        "seed": seed,
        "tolerance": tolerance,
        "samplers": summary,
        "fewest_dpm_steps_holding_quality": min((samplers[n][1] for n in holding), default=None),
    }


def _mean(runs: list[dict]) -> dict:
    """Every figure averaged over the draws."""
    levels = runs[0]["levels"]
    return {
        "levels": {
            level: {k: float(np.mean([r["levels"][level][k] for r in runs])) for k in levels[level]}
            for level in levels
        },
        "generate_seconds": round(float(np.mean([r["generate_seconds"] for r in runs])), 1),
        "generate_cpu_seconds": round(float(np.mean([r["generate_cpu_seconds"] for r in runs])), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="the reference and DPM-Solver++ at 10 steps only"
    )
    parser.add_argument("--noise", default="field", choices=("shared", "independent", "field"))
    parser.add_argument(
        "--strength", type=float, default=1.0, help="1 (MetaEarth): from pure noise; the demo's is 0.4"
    )
    parser.add_argument(
        "--draws", type=int, default=1, help="canvases per sampler (seeds seed, seed + 1, ...)"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", help="write the figures to this JSON file")
    args = parser.parse_args()
    results = run(args.quick, noise=args.noise, strength=args.strength, draws=args.draws, seed=args.seed)
    text = json.dumps(results, indent=2)
    print(text)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(text + "\n")


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
