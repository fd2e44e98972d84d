"""Unbounded MetaEarth generation: output megapixels per second, batched windows vs one at a time.

Both runs generate the same canvas in the same process (MetaEarth's scheme: shared noise, DDIM
eta 0); the figure of merit is their ratio. On a GPU it also reports the achieved TFLOP/s (FLOPs
of one window counted with ``torch.utils.flop_counter``, times windows x steps, over the time).

    python benchmarks/metaearth_generation.py --out cpu.json                        # tiny, CPU
    python benchmarks/metaearth_generation.py --device cuda --preset base --bf16 --out base.json
    python benchmarks/metaearth_generation.py --device cuda --preset paper --bf16 --out paper.json
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

from terrasynth.models.metaearth import UnboundedGenerator, build_denoiser

CPU_DEFAULTS = {"canvas": 128, "window": 32, "steps": 3, "batch_size": 16}
GPU_DEFAULTS = {"canvas": 2048, "window": 256, "steps": 10, "batch_size": 16}


def _generate(generator: UnboundedGenerator, size: int, condition: np.ndarray) -> float:
    """Seconds to generate a ``size`` x ``size`` canvas."""
    began = time.perf_counter()
    for _ in generator.bands(size, size, condition=condition):
        pass  # bands arrive as numpy arrays: the device work is done
    return time.perf_counter() - began


def _window_flops(model, window: int, condition_side: int, device: torch.device, dtype) -> int:
    x = torch.randn(1, model.config.channels, window, window, device=device)
    low = torch.rand(1, model.config.channels, condition_side, condition_side, device=device)
    with (
        torch.no_grad(),
        torch.autocast(device.type, dtype=dtype, enabled=dtype is not None),
        FlopCounterMode(display=False) as counter,
    ):
        model(x, torch.tensor([500], device=device), gsd=4.0, condition=low, condition_gsd=16.0)
    return counter.get_total_flops()


def run(
    quick: bool = False,
    *,
    preset: str = "tiny",
    device: str = "cpu",
    bf16: bool = False,
    canvas: int | None = None,
    window: int | None = None,
    steps: int | None = None,
    batch_size: int | None = None,
) -> dict:
    """Megapixels per second of one stage (4 m from 16 m), batched and one window at a time."""
    device = torch.device(device)
    defaults = GPU_DEFAULTS if device.type == "cuda" else CPU_DEFAULTS
    canvas = canvas or (defaults["canvas"] // 2 if quick else defaults["canvas"])
    window, steps = window or defaults["window"], steps or defaults["steps"]
    batch_size = batch_size or defaults["batch_size"]
    dtype = torch.bfloat16 if bf16 else None
    torch.manual_seed(0)
    model = build_denoiser(preset, channels=4, gsd=4.0, condition_gsd=16.0, window=window).to(device).eval()
    condition = np.random.default_rng(0).random((4, canvas // 4 + 1, canvas // 4 + 1), dtype=np.float32) * 0.3
    results = {
        "preset": preset, "device": str(device), "bf16": bf16, "canvas_px": canvas, "window_px": window,
        "steps": steps, "parameters": sum(p.numel() for p in model.parameters()),
    }  # fmt: skip
    flops_per_window_step = _window_flops(model, window, int(np.ceil(window / 4)) + 9, device, dtype)
    for label, size in (("batched", batch_size), ("one_at_a_time", 1)):
        generator = UnboundedGenerator(model, steps=steps, batch_size=size, autocast_dtype=dtype)
        _generate(generator, window, condition)  # warm-up: kernels, caches, autotuning
        seconds = _generate(generator, canvas, condition)
        windows = generator.windows_needed(canvas, canvas)
        results[label] = {
            "batch_size": size,
            "windows": windows,
            "seconds": seconds,
            "megapixels_per_second": canvas * canvas / 1e6 / seconds,
            "tflops_per_second": flops_per_window_step * windows * steps / seconds / 1e12,
        }
    results["batched_speedup"] = (
        results["batched"]["megapixels_per_second"] / results["one_at_a_time"]["megapixels_per_second"]
    )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smaller canvas")
    parser.add_argument("--preset", default="tiny", choices=["tiny", "base", "paper"])
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--bf16", action="store_true", help="bf16 autocast (GPUs)")
    parser.add_argument("--canvas", type=int, help="canvas side in pixels")
    parser.add_argument("--window", type=int, help="window side in pixels")
    parser.add_argument("--steps", type=int, help="DDIM steps")
    parser.add_argument("--batch-size", type=int, help="windows per call in the batched run")
    parser.add_argument("--out", help="write the figures to this JSON file")
    args = parser.parse_args()
    results = run(
        args.quick, preset=args.preset, device=args.device, bf16=args.bf16, canvas=args.canvas,
        window=args.window, steps=args.steps, batch_size=args.batch_size,
    )  # fmt: skip
    text = json.dumps(results, indent=2)
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
