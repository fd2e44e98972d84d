"""Random crops of change pair samples, the same window for both dates and every label map."""

from __future__ import annotations

import torch

SPATIAL_KEYS = ("image", "mask", "semantic")
"""Keys of a change pair sample whose last two axes are (H, W)."""


def random_crop(sample: dict, size: int, generator: torch.Generator | None = None) -> dict:
    """A ``size`` x ``size`` pixel window of a change pair sample at a random place.

    Samples no larger than ``size`` come back unchanged; other keys (``name``) are kept as they are.
    """
    height, width = sample["image"].shape[-2:]
    if height <= size and width <= size:
        return sample
    top = int(torch.randint(0, max(height - size, 0) + 1, (), generator=generator))
    left = int(torch.randint(0, max(width - size, 0) + 1, (), generator=generator))
    cropped = dict(sample)
    for key in SPATIAL_KEYS:
        if key in sample:
            cropped[key] = sample[key][..., top : top + size, left : left + size]
    return cropped
