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
import torch.nn.functional as F

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
    h, w = data.shape[-2:]
    ratio = gsd / condition_gsd
    y = corner[0] + (torch.arange(shape[0], dtype=torch.float64) + 0.5) * ratio
    x = corner[1] + (torch.arange(shape[1], dtype=torch.float64) + 0.5) * ratio
    gy, gx = torch.meshgrid(2 * y / h - 1, 2 * x / w - 1, indexing="ij")
    grid = torch.stack([gx, gy], dim=-1)[None].float()
    out = F.grid_sample(data, grid, mode="bicubic", padding_mode="border", align_corners=False)
    return out[0].numpy()


def _overlaps(fine: int, ratio: float, start: float) -> np.ndarray:
    """(coarse, fine) weights of each fine pixel in each coarse pixel the fine ones cover whole
    (rows sum to 1); fine pixel ``j`` spans ``[start + j * ratio, start + (j + 1) * ratio)`` in
    coarse pixels."""
    first = math.ceil(start - 1e-9)
    last = math.floor(start + fine * ratio + 1e-9)
    edges = start + np.arange(fine + 1) * ratio
    lows = np.arange(first, last)[:, None]
    overlap = np.clip(np.minimum(edges[None, 1:], lows + 1) - np.maximum(edges[None, :-1], lows), 0, None)
    return overlap / overlap.sum(axis=1, keepdims=True).clip(1e-12)


def area_average(
    canvas: np.ndarray, gsd: float, condition_gsd: float, corner: tuple[float, float] = (0.0, 0.0)
) -> tuple[np.ndarray, tuple[int, int]]:
    """The canvas (C, H, W) averaged onto the condition's pixels it covers whole.

    Returns the averages (C, h, w) and the condition pixel (row, column) of their top-left one.
    """
    ratio = gsd / condition_gsd
    rows = _overlaps(canvas.shape[-2], ratio, corner[0])
    cols = _overlaps(canvas.shape[-1], ratio, corner[1])
    averaged = np.einsum("ij,cjk,lk->cil", rows, np.asarray(canvas, dtype=np.float64), cols)
    return averaged.astype(np.float32), (math.ceil(corner[0] - 1e-9), math.ceil(corner[1] - 1e-9))


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
