"""Cost of sliding-window change detection against whole-image inference, in one process.

Figures: seconds per image pair for whole-image inference and for windows at 0 and 0.25 overlap,
and their ratios to whole-image inference (the windows' overhead). Full run: 1024 x 1024 pairs
(LEVIR-CD size), 512 px windows, ResNet-18 1 x 256 detector; quick run: 256 px pairs, 128 px windows.

    uv run python benchmarks/run.py --only sliding_window [--quick]
"""

from __future__ import annotations

import time

import torch

from terrasynth.models.detector import ChangeDetector, sliding_window_predict


def _seconds(function, repeats: int) -> float:
    function()  # warm-up
    start = time.perf_counter()
    for _ in range(repeats):
        function()
    return (time.perf_counter() - start) / repeats


def run(quick: bool) -> dict:
    size, window = (256, 128) if quick else (1024, 512)
    repeats = 2 if quick else 3
    torch.manual_seed(0)
    model = ChangeDetector(encoder="resnet18", decoder_channels=64 if quick else 256).eval()
    images = torch.rand(1, 2, 3, size, size)
    with torch.no_grad():
        whole = _seconds(lambda: model(images), repeats)
    tiled = _seconds(lambda: sliding_window_predict(model, images, window=window, overlap=0.0), repeats)
    overlapping = _seconds(
        lambda: sliding_window_predict(model, images, window=window, overlap=0.25), repeats
    )
    return {
        "image_px": size,
        "window_px": window,
        "threads": torch.get_num_threads(),
        "whole_image_s": whole,
        "windows_no_overlap_s": tiled,
        "windows_overlap_0.25_s": overlapping,
        "ratio_no_overlap": tiled / whole,
        "ratio_overlap_0.25": overlapping / whole,
    }
