"""Changen2 components before synthesis: the change event simulation and one RS-DiT forward pass,
at 256 and 1024 pixels, with their cost per pixel relative to 256 (1.0 = linear in pixels).

On a CUDA device the RS-DiT figures are for the S size on latents (256 px images = 32 x 32
latents with masks at image size, as the released model) with peak GPU memory; on a CPU they are
for the ``tiny`` preset with 8 x 8 pixel tokens in pixel space, without memory figures.

    uv run python benchmarks/run.py --only changen2_components [--quick]
"""

from __future__ import annotations

import time

import numpy as np
import torch

from terrasynth.models.changen2.rsdit import build_rsdit
from terrasynth.models.changen2.sequence import WORLDCOVER_EVENTS, simulate_changes

SIZES = (256, 512, 1024)


def _landcover(size: int, seed: int = 0) -> np.ndarray:
    """A WorldCover-like mask: blocky patches of four classes and building footprints (250; 16 px cells)."""
    rng = np.random.default_rng(seed)
    cells = rng.choice(np.array([10, 30, 40, 250, 80], np.uint8), (size // 16, size // 16))
    return np.kron(cells, np.ones((16, 16), np.uint8))


def _best_of(repeats: int, call) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return min(times)


def events(quick: bool) -> dict:
    """Seconds per simulated date (remove, add, transition, contours) at each size."""
    figures = {}
    for size in SIZES:
        mask = _landcover(size)
        seconds = (
            _best_of(
                1 if quick else 3, lambda mask=mask: simulate_changes(mask, 3, WORLDCOVER_EVENTS, 0, gsd=1.0)
            )
            / 2
        )
        figures[size] = seconds
    return {
        "events_seconds_per_date": {str(s): round(t, 4) for s, t in figures.items()},
        "events_cost_per_pixel_1024_vs_256": round(figures[1024] / figures[256] / 16, 2),
    }


@torch.no_grad()
def rsdit(quick: bool) -> dict:
    """Seconds (and on CUDA peak memory) of one RS-DiT forward pass at each image size."""
    cuda = torch.cuda.is_available()
    device = torch.device("cuda" if cuda else "cpu")
    if cuda:
        model, scale, channels = build_rsdit("S").to(device).eval(), 8, 4  # latent space
    else:
        model, scale, channels = build_rsdit("tiny", patch_size=8).eval(), 1, 3  # pixel space
    seconds, memory = {}, {}
    for size in SIZES:
        x = torch.randn(1, channels, size // scale, size // scale, device=device)
        mask = torch.rand(1, 1, size, size, device=device)
        t = torch.tensor([500], device=device)

        def forward(x=x, mask=mask, t=t):
            model(x, t, mask)
            if cuda:
                torch.cuda.synchronize()

        forward()  # warm-up
        if cuda:
            torch.cuda.reset_peak_memory_stats()
        seconds[size] = _best_of(1 if quick else 3, forward)
        if cuda:
            memory[size] = torch.cuda.max_memory_allocated() / 2**20
    figures = {
        "rsdit_model": "S (latent)" if cuda else "tiny, patch 8 (pixels)",
        "rsdit_seconds": {str(s): round(t, 4) for s, t in seconds.items()},
        "rsdit_time_per_pixel_1024_vs_256": round(seconds[1024] / seconds[256] / 16, 2),
    }
    if cuda:
        figures["rsdit_peak_mib"] = {str(s): round(m, 1) for s, m in memory.items()}
        figures["rsdit_memory_per_pixel_1024_vs_256"] = round(memory[1024] / memory[256] / 16, 2)
    return figures


def run(quick: bool) -> dict:
    return {**events(quick), **rsdit(quick)}
