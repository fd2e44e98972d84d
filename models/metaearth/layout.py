"""Keeping a window's layout: its averages over the condition's pixels are the condition, the detail
finer than those pixels is generated.

A stage adds the detail below its condition's pixel size; the layout at that size is the
condition's (the synthetic world's real 16 m image, averaged onto the 60 m pixels, gives the 60 m
image to 0.0011 reflectance RMSE). A briefly trained stage drifts at the condition's own scale,
each window by its own amount, which the canvas shows as a layout that departs from its input and
as steps where windows meet. :func:`take_layout` corrects a generated window by iterative
back-projection (Irani and Peleg, 1991; the consistency step of super-resolution samplers such as
ILVR and DDNM, taken on the clean image): the condition minus the window averaged onto the
condition's pixels, upsampled bicubically, is added to the window, :data:`BACK_PROJECTIONS` times.

The averages are taken by overlapping area (:mod:`~terrasynth.models.metaearth.area`): each
window's condition box is offset by a fraction of a pixel, at a ratio of 3.75 from 60 m to 16 m.
"""

from __future__ import annotations

import torch

from terrasynth.core.errors import ConfigError
from terrasynth.models.metaearth.area import AreaCoverage, area_average, area_coverage
from terrasynth.models.metaearth.denoiser import resample_onto

BACK_PROJECTIONS = 8
"""Passes of back-projection. On random conditions each pass leaves about half of the largest
difference (at a ratio of 4: 1.25, 0.49, 0.22 after none, one and two passes); eight leave under
1 % of it. On the demo's cascade over eight areas (``benchmarks/cascade_distances.py``) eight passes
alone did as well as four after the Gaussian low-pass replacement this replaced (SWD over bicubic's
0.82 and 0.44 at 16 and 4 m against 0.81 and 0.46; that low-pass alone: 0.87 and 0.50)."""


def take_layout(image: torch.Tensor, condition: torch.Tensor, box: torch.Tensor) -> torch.Tensor:
    """``image`` corrected so that its averages over the condition's pixels equal ``condition``.

    Args:
        image: generated windows, (B, C, H, W), model space.
        condition: their conditions, (B, C, h, w), same space.
        box: where each window lies on its condition, (B, 4) as (top, left, bottom, right) in
            condition pixels (:func:`~terrasynth.models.metaearth.denoiser.resample_onto`'s).

    Condition pixels that a window covers only in part are left out of the average; the difference
    at the whole ones is repeated outwards to them, so the correction reaches the window's edge.
    """
    rows = _whole_coverage(image.shape[-2], box[:, 0], box[:, 2], condition.shape[-2])
    cols = _whole_coverage(image.shape[-1], box[:, 1], box[:, 3], condition.shape[-1])
    for _ in range(BACK_PROJECTIONS):
        averages = area_average(image, rows, cols)
        difference = _repeat_edges(condition - averages, rows, cols)
        image = image + resample_onto(difference, box, image.shape[-2:], "bicubic")
    return image


def _whole_coverage(fine: int, start: torch.Tensor, stop: torch.Tensor, coarse: int) -> AreaCoverage:
    """:func:`area_coverage`, refusing in one line a window that covers no whole condition pixel."""
    coverage = area_coverage(fine, start, stop, coarse)
    if not bool((coverage.last >= 0).all()):
        raise ConfigError(
            f"a window of {fine} px covers no whole pixel of its condition: use a window of more than "
            f"{2 * fine / float((stop - start).min()):.0f} px at this ratio"
        )
    return coverage


def _repeat_edges(values: torch.Tensor, rows: AreaCoverage, cols: AreaCoverage) -> torch.Tensor:
    """``values`` (B, C, h, w) with the rows and columns that a window does not cover whole
    replaced by the nearest that it does."""
    batch, channels, h, w = values.shape
    row = torch.arange(h, device=values.device)[None].clamp(rows.first[:, None], rows.last[:, None])
    col = torch.arange(w, device=values.device)[None].clamp(cols.first[:, None], cols.last[:, None])
    values = values.gather(2, row[:, None, :, None].expand(batch, channels, h, w))
    return values.gather(3, col[:, None, None, :].expand(batch, channels, h, w))
