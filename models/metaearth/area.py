"""Averaging by overlapping area from a fine pixel grid onto a coarse one, at any ratio and offset.

A generated window (or canvas) lies on its condition's grid at a fractional offset and, from 60 m
to 16 m, a non-integer ratio (3.75). Its average over a condition pixel weighs each fine pixel by
the area it shares with that pixel. Written here because no library averages by overlapping area
onto a grid offset by a fraction of a pixel at a non-integer ratio.
"""

from __future__ import annotations

from typing import NamedTuple

import torch


class AreaCoverage(NamedTuple):
    """How fine pixels cover coarse ones along one axis.

    Attributes:
        weights: (B, coarse, fine) float64; row ``i`` averages the fine pixels onto coarse pixel
            ``i`` where they cover it whole (the row sums to 1), and is 0 elsewhere.
        first, last: (B,) the first and last coarse pixel covered whole (``coarse`` and -1 if none).
    """

    weights: torch.Tensor
    first: torch.Tensor
    last: torch.Tensor


def area_coverage(fine: int, start: torch.Tensor, stop: torch.Tensor, coarse: int) -> AreaCoverage:
    """How ``fine`` equal pixels spanning ``[start, stop)`` (each (B,), in coarse pixels from the
    coarse grid's origin) cover coarse pixels ``0 .. coarse - 1``."""
    start, stop = start.double(), stop.double()
    steps = torch.arange(fine + 1, dtype=torch.float64, device=start.device) / fine
    edges = start[:, None] + (stop - start)[:, None] * steps
    lows = torch.arange(coarse, dtype=torch.float64, device=start.device)[None, :, None]
    overlap = torch.minimum(edges[:, None, 1:], lows + 1) - torch.maximum(edges[:, None, :-1], lows)
    overlap = overlap.clamp(min=0)
    whole = overlap.sum(dim=-1) > 1 - 1e-6  # (B, coarse); the rounding of a sum of fractions
    # one more column, never whole: first is ``coarse`` and last -1 where none is (coarse == 0 too)
    padded = torch.cat((whole, whole.new_zeros(len(whole), 1)), dim=1)
    index = torch.arange(coarse + 1, device=start.device)
    first = torch.where(padded, index, coarse).amin(dim=1)
    last = torch.where(padded, index, -1).amax(dim=1)
    return AreaCoverage(overlap * whole[..., None], first, last)


def area_average(image: torch.Tensor, rows: AreaCoverage, cols: AreaCoverage) -> torch.Tensor:
    """``image`` (B, C, H, W) averaged onto the coarse pixels: (B, C, coarse rows, coarse columns),
    0 where the image does not cover a pixel whole; in ``image``'s dtype."""
    weights = rows.weights.to(image.dtype), cols.weights.to(image.dtype)
    return torch.einsum("bij,bcjl,bkl->bcik", weights[0], image, weights[1])
