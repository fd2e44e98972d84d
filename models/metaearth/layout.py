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
from torchvision.transforms.v2.functional import gaussian_blur

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

    The low-pass is a Gaussian of :data:`LAYOUT_SIGMA` condition pixels, reflected at the window's
    edges (it reaches ``3 sigma`` pixels, less than the quarter of a window a canvas cuts away).
    """
    sigma = LAYOUT_SIGMA * ratio
    size = 2 * math.ceil(3 * sigma) + 1
    if size > min(image.shape[-2:]):
        raise ConfigError(
            f"a window of {tuple(image.shape[-2:])} px is too small for the {size} px low-pass of a "
            f"condition {ratio:g} times coarser: use a larger window"
        )

    def low_pass(x: torch.Tensor) -> torch.Tensor:
        return gaussian_blur(x, kernel_size=[size, size], sigma=[sigma, sigma])

    return image - low_pass(image) + low_pass(condition)
