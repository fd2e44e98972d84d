"""A generated canvas against its low-resolution condition: the bicubic baseline, and how closely
the canvas, averaged back down onto the condition's pixels, follows it.

Both grids are given by their resolution (metres per pixel) and the position of the canvas's
top-left corner on the condition, in condition pixels (``(0, 0)`` when both start at the same
corner, as a cascade's canvases do). Ratios need not be integers (60 m -> 16 m is 3.75).

- :func:`bicubic_upsample`: the condition interpolated bicubically at the canvas's pixel centres,
  the baseline any super-resolution model must beat.
- :func:`area_average`: a canvas averaged exactly (by overlapping area) onto the condition's
  pixels that it covers whole.
- :func:`condition_error`: the root-mean-square difference between the two, in reflectance and
  relative to the condition's own standard deviation over the same pixels.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from terrasynth.models.metaearth import resample_onto
from terrasynth.models.metaearth.area import AreaCoverage, area_coverage
from terrasynth.models.metaearth.area import area_average as coverage_average

CONDITION_METRICS = ("rmse", "relative_rmse")
"""``rmse``: reflectance (unitless); ``relative_rmse``: over the condition's standard deviation."""


def bicubic_upsample(
    condition: np.ndarray,
    condition_gsd: float,
    gsd: float,
    shape: tuple[int, int],
    corner: tuple[float, float] = (0.0, 0.0),
) -> np.ndarray:
    """The condition (C, h, w) interpolated bicubically onto a (rows, columns) canvas of ``gsd``
    metres whose top-left corner lies at ``corner`` (row, column) in condition pixels; beyond the
    condition's outermost pixel centres its edge values are repeated. Returns float32 (C, *shape)."""
    data = torch.from_numpy(np.asarray(condition, dtype=np.float32))[None]
    ratio = gsd / condition_gsd
    box = torch.tensor([[corner[0], corner[1], corner[0] + shape[0] * ratio, corner[1] + shape[1] * ratio]])
    return resample_onto(data, box, shape, "bicubic")[0].numpy()


def area_average(
    canvas: np.ndarray, gsd: float, condition_gsd: float, corner: tuple[float, float] = (0.0, 0.0)
) -> tuple[np.ndarray, tuple[int, int]]:
    """The canvas (C, H, W) averaged onto the condition's pixels it covers whole.

    Returns the averages (C, h, w) and the condition pixel (row, column) of their top-left one.
    """
    ratio = gsd / condition_gsd
    rows = _whole_pixels(canvas.shape[-2], ratio, corner[0])
    cols = _whole_pixels(canvas.shape[-1], ratio, corner[1])
    image = torch.from_numpy(np.asarray(canvas, dtype=np.float64))[None]
    averaged = coverage_average(image, rows, cols)[0, :, rows.first[0] :, cols.first[0] :]
    return averaged.float().numpy(), (int(rows.first[0]), int(cols.first[0]))


def _whole_pixels(fine: int, ratio: float, start: float) -> AreaCoverage:
    """How ``fine`` pixels of ``ratio`` condition pixels each, from ``start``, cover the condition
    pixels up to the last they cover whole."""
    stop = start + fine * ratio
    start_stop = torch.tensor([[start], [stop]], dtype=torch.float64)
    return area_coverage(fine, start_stop[0], start_stop[1], math.floor(stop + 1e-9))


def condition_error(
    canvas: np.ndarray,
    gsd: float,
    condition: np.ndarray,
    condition_gsd: float,
    corner: tuple[float, float] = (0.0, 0.0),
) -> dict[str, float]:
    """How far the canvas (C, H, W reflectance), averaged onto the condition's pixels, is from the
    condition (C, h, w): ``{"rmse": ..., "relative_rmse": ...}`` (see :data:`CONDITION_METRICS`),
    over every band and every condition pixel the canvas covers whole. NaN when it covers none."""
    averaged, (r0, c0) = area_average(canvas, gsd, condition_gsd, corner)
    h, w = averaged.shape[-2:]
    reference = np.asarray(condition, dtype=np.float64)[:, r0 : r0 + h, c0 : c0 + w]
    if reference.size == 0 or reference.shape != averaged.shape:
        return dict.fromkeys(CONDITION_METRICS, float("nan"))
    rmse = float(np.sqrt(np.mean((averaged - reference) ** 2)))
    spread = float(np.sqrt(np.mean(reference.var(axis=(1, 2)))))
    return {"rmse": rmse, "relative_rmse": rmse / spread if spread > 0 else float("nan")}
