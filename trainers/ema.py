"""The exponential moving average of a diffusion model's weights."""

from __future__ import annotations

import torch


def warmup_ema(decay: float):
    """An exponential moving average whose decay warms up as diffusers' ``EMAModel`` does:
    ``min(decay, (1 + n) / (10 + n))`` after ``n`` updates, so the average of a short run is not
    dominated by the initial weights (0.999 ** 60 would keep 94 % of them). Lightning's
    ``EMAWeightAveraging`` has no warm-up; its ``WeightAveraging`` takes this as ``avg_fn``."""

    def average(averaged: torch.Tensor, current: torch.Tensor, num_averaged: torch.Tensor) -> torch.Tensor:
        updates = float(num_averaged)
        weight = min(decay, (1.0 + updates) / (10.0 + updates))
        return weight * averaged + (1.0 - weight) * current

    return average
