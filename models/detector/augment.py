"""Random augmentation of change pair samples: crops, and the eight quarter turns and mirror
images with the two dates swapped at random. Every draw applies alike to both dates and to every
label map of a sample.

Written with torch's own ``rot90``/``flip`` rather than kornia or torchgeo augmentations: those
transform batches of images and masks, but know nothing of a pair's date axis to swap."""

from __future__ import annotations

import torch

SPATIAL_KEYS = ("image", "mask", "semantic")
"""Keys of a change pair sample whose last two axes are (H, W)."""

DATED_KEYS = ("image", "semantic")
"""Keys of a change pair sample whose first axis is the date."""


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


def random_dihedral(sample: dict, generator: torch.Generator | None = None) -> dict:
    """A change pair sample turned by a random multiple of 90 degrees, mirrored left to right or
    not, and with its two dates swapped or not, each with equal chance.

    Imagery seen from above has no preferred orientation and a change is a change either way in
    time, so this multiplies a small training set by 16. A sample that is not square is only
    turned by 0 or 180 degrees, so that it keeps its shape (and batches still stack).
    """
    height, width = sample["image"].shape[-2:]
    quarter_turns = (0, 1, 2, 3) if height == width else (0, 2)
    turns = quarter_turns[int(torch.randint(len(quarter_turns), (), generator=generator))]
    mirror, swap = (bool(draw) for draw in torch.randint(0, 2, (2,), generator=generator))
    augmented = dict(sample)
    for key in SPATIAL_KEYS:
        if key in sample:
            turned = torch.rot90(sample[key], turns, dims=(-2, -1))
            augmented[key] = turned.flip(-1) if mirror else turned
    if swap:
        for key in DATED_KEYS:
            if key in augmented:
                augmented[key] = augmented[key].flip(0)
    return augmented
