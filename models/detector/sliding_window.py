"""Sliding-window inference: full-size images (e.g. 1024 x 1024) predicted window by window.

Windows overlap and are blended with a Gaussian weight that is highest at the window centre, so
predictions near a window's border (where the network sees little context) count least. Written
by hand because none of our dependencies ships it for dict-valued bitemporal models (MONAI has one).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch


def window_starts(size: int, window: int, stride: int) -> list[int]:
    """Start offsets (pixels) of windows of ``window`` pixels every ``stride`` pixels; the last
    window ends exactly at ``size``."""
    if window >= size:
        return [0]
    starts = list(range(0, size - window, stride))
    return [*starts, size - window]


def blend_weight(height: int, width: int, *, sigma: float = 0.125) -> torch.Tensor:
    """(height, width) Gaussian weight, 1 at the centre, ``sigma`` in window sizes, floored at 1e-3
    so that every pixel of a window counts."""

    def axis(n: int) -> torch.Tensor:
        x = (torch.arange(n, dtype=torch.float64) - (n - 1) / 2) / (sigma * n)
        return torch.exp(-0.5 * x**2)

    return (axis(height)[:, None] * axis(width)[None, :]).clamp_min(1e-3).float()


@torch.no_grad()
def sliding_window_predict(
    model: Callable[[torch.Tensor], dict[str, torch.Tensor]],
    images: torch.Tensor,
    *,
    window: int = 512,
    overlap: float = 0.25,
    batch_size: int = 4,
) -> dict[str, torch.Tensor]:
    """Blend the model's outputs over overlapping windows of ``images``.

    Args:
        model: takes ``(N, 2, C, h, w)`` and returns a dict of tensors shaped ``(N, ..., h, w)``
            (logits; e.g. :class:`ChangeDetector`).
        images: ``(B, 2, C, H, W)``, any H and W.
        window: window edge in pixels (clipped to the image size).
        overlap: fraction of a window shared with its neighbour, in [0, 1).
        batch_size: windows per forward pass.

    Returns:
        The model's dict with every tensor at full size ``(B, ..., H, W)``, on ``images``' device.
    """
    if not 0 <= overlap < 1:
        raise ValueError(f"overlap must be in [0, 1), got {overlap}")
    height, width = images.shape[-2:]
    win_h, win_w = min(window, height), min(window, width)
    stride = max(1, math.floor(window * (1 - overlap)))
    boxes = [
        (y, x) for y in window_starts(height, win_h, stride) for x in window_starts(width, win_w, stride)
    ]
    weight = blend_weight(win_h, win_w).to(images.device)
    sums: dict[str, torch.Tensor] = {}
    total = torch.zeros(height, width, device=images.device)
    for first in range(0, len(boxes), batch_size):
        chunk = boxes[first : first + batch_size]
        crops = torch.cat([images[..., y : y + win_h, x : x + win_w] for y, x in chunk])
        outputs = model(crops)
        for name, value in outputs.items():
            if name not in sums:
                sums[name] = images.new_zeros((images.shape[0], *value.shape[1:-2], height, width))
            for index, (y, x) in enumerate(chunk):
                part = value[index * images.shape[0] : (index + 1) * images.shape[0]]
                sums[name][..., y : y + win_h, x : x + win_w] += part * weight
        for y, x in chunk:
            total[y : y + win_h, x : x + win_w] += weight
    return {name: value / total for name, value in sums.items()}
