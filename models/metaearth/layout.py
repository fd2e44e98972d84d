"""Keeping a window's layout: its coarse scales taken from its condition, its fine ones generated.

A stage adds the detail below its condition's pixel size; the layout above it is the condition's.
A briefly trained stage also drifts at the condition's own scale, each window by its own amount,
which the canvas shows as a layout that departs from its input and as steps where windows meet.
:func:`take_layout` replaces a generated window's low-pass by its bicubically upsampled condition's:
the low-frequency replacement of ILVR (Choi et al., ICCV 2021), taken once, on the clean image.
"""

from __future__ import annotations

import math

import torch
from kornia.filters import gaussian_blur2d

from terrasynth.core.errors import ConfigError

LAYOUT_SIGMA = 0.35
"""The low-pass's Gaussian standard deviation, in condition pixels. Measured on the demo's cascade
over eight areas (``benchmarks/cascade_distances.py``): at 0.35 both levels' canvases follow the
60 m input more closely than its bicubic upsampling does, where 0.5 leaves the 4 m one further from
it; 0.25 costs more of the 4 m detail (SWD to the real tiles up 10 %, against 5 % at 0.35)."""


def take_layout(image: torch.Tensor, condition: torch.Tensor, ratio: float) -> torch.Tensor:
    """``image`` with its low-pass replaced by ``condition``'s.

    Args:
        image: generated windows, (B, C, H, W), model space.
        condition: their condition upsampled onto the same pixels (bicubic), same shape and space.
        ratio: the condition's pixel size in ``image`` pixels (condition gsd / gsd).

    The low-pass is a Gaussian of :data:`LAYOUT_SIGMA` condition pixels reaching ``3 sigma`` pixels,
    reflected at the window's edges. A canvas cuts a quarter of every window away where windows meet,
    so the reflection only reaches the pixels it keeps in windows under ``4 * ceil(3 sigma)`` pixels
    (20 px at a ratio of 4) and along the canvas' own edges, where the outermost few pixels take
    the low-pass of a mirrored window.
    """
    sigma = LAYOUT_SIGMA * ratio
    size = 2 * math.ceil(3 * sigma) + 1
    if size > min(image.shape[-2:]):
        raise ConfigError(
            f"a window of {tuple(image.shape[-2:])} px is too small for the {size} px low-pass of a "
            f"condition {ratio:g} times coarser: use a larger window"
        )

    def low_pass(x: torch.Tensor) -> torch.Tensor:
        return gaussian_blur2d(x, (size, size), (sigma, sigma), border_type="reflect")

    return image - low_pass(image) + low_pass(condition)
