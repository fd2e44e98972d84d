"""The demo report's figures, from arrays: real and generated images per level, the canvas with
its window cuts, and synthesized change pairs (built on :mod:`terrasynth.evaluation.plots`)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np

from terrasynth.core.display import to_display
from terrasynth.evaluation.condition import bicubic_upsample
from terrasynth.evaluation.plots import plot_canvas_windows, plot_image_grid


def reflectance_picture(image: np.ndarray) -> np.ndarray:
    """(band, y, x) reflectance x 1e4 in the order B2, B3, B4, ... as (y, x, 3) display RGB."""
    return to_display(np.stack([image[2], image[1], image[0]], axis=-1) * 1e-4)


def levels_figure(
    real: Mapping[float, np.ndarray],
    generated: Mapping[float, np.ndarray],
    condition: np.ndarray,
    path: str | Path,
    *,
    condition_gsd: float = 60.0,
) -> Path:
    """A row per level: the real image and, where one was generated at that level, the generated
    image and the bicubic upsampling of the condition it was generated from, onto its grid.

    Args:
        real, generated: images by ground sampling distance (metres per pixel), (band, y, x)
            reflectance x 1e4, of one footprint from the same top-left corner.
        condition: the generation's input, (band, y, x) reflectance, of ``condition_gsd`` metres.
    """
    rows, titles = [], []
    for gsd, image in real.items():
        row = [reflectance_picture(image)]
        if gsd in generated:
            canvas = generated[gsd]
            upsampled = bicubic_upsample(condition, condition_gsd, gsd, canvas.shape[-2:])
            row += [reflectance_picture(canvas), reflectance_picture(upsampled * 1e4)]
        rows.append(row)
        titles.append(f"{gsd:g}m")
    return plot_image_grid(
        rows,
        path,
        row_titles=titles,
        column_titles=["real (corpus)", "generated", f"bicubic from {condition_gsd:g} m"],
    )


def canvas_figure(canvas: np.ndarray, path: str | Path, *, window: int) -> Path:
    """The canvas ((band, y, x) reflectance x 1e4) with the cuts of its generation windows of
    ``window`` pixels (every ``window // 2`` pixels from ``window // 4``)."""
    return plot_canvas_windows(reflectance_picture(canvas), path, stride=window // 2, offset=window // 4)


def pairs_figure(pairs, path: str | Path, count: int = 4) -> Path:
    """The first ``count`` pairs of a change dataset (samples with ``image`` (2, 3, H, W) in [0, 1]
    and ``mask`` (H, W)): date 1, date 2 and the change."""
    rows = []
    for index in range(min(count, len(pairs))):
        sample = pairs[index]
        before, after = (
            np.asarray(sample["image"][t].permute(1, 2, 0) * 255, dtype=np.uint8) for t in (0, 1)
        )
        rows.append([before, after, np.asarray(sample["mask"]) * 255])
    return plot_image_grid(rows, path, column_titles=["date 1", "date 2", "change"])
