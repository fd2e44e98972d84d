"""Figures as PNG: precision-recall curves, per-image F1 histograms, change examples, image grids and
unbounded canvases with their window cuts."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import xarray as xr

from terrasynth.core.outputs import atomic_path

# Colours of the example panels: true negative, false positive, false negative, true positive.
OUTCOME_COLOURS = np.array([[0, 0, 0], [230, 60, 60], [60, 120, 230], [255, 255, 255]], dtype=np.uint8)


def _figure(rows: int = 1, cols: int = 1, size: tuple[float, float] = (5, 4)):
    from matplotlib.figure import Figure

    figure = Figure(figsize=(size[0] * cols, size[1] * rows))
    return figure, figure.subplots(rows, cols, squeeze=False)


def _save(figure, path: str | Path) -> Path:
    with atomic_path(path) as partial:
        figure.savefig(partial, format="png", dpi=100, bbox_inches="tight")
    return Path(path)


def _runs(results: xr.Dataset):
    """(label, selection) for every model / dataset / split combination present."""
    dims = [d for d in ("model", "dataset", "split") if d in results.dims]
    stacked = results["scores"].stack(run=dims)
    for index in range(stacked.sizes["run"]):
        run = stacked.isel(run=index)
        selection = {d: run[d].item() for d in dims}
        yield " / ".join(str(v) for v in selection.values()), results.sel(selection)


def plot_precision_recall(results: xr.Dataset, path: str | Path) -> Path:
    """Precision against recall over the threshold sweep, one curve per model/dataset/split, with
    each run's operating point marked."""
    figure, axes = _figure()
    ax = axes[0, 0]
    for label, run in _runs(results):
        if np.isnan(run["pr_precision"]).all():
            continue
        lines = ax.plot(run["pr_recall"], run["pr_precision"], label=label)
        point = run["scores"].sel(metric=["recall", "precision"]).values
        ax.plot(*point, "o", color=lines[0].get_color())
    ax.set(xlabel="recall", ylabel="precision", xlim=(0, 1), ylim=(0, 1.02), title="change class")
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    return _save(figure, path)


def plot_f1_histogram(results: xr.Dataset, path: str | Path, *, bins: int = 20) -> Path:
    """Histogram of per-image F1 (images without true or predicted change left out), per run."""
    figure, axes = _figure()
    ax = axes[0, 0]
    for label, run in _runs(results):
        values = run["image_f1"].values
        values = values[~np.isnan(values)]
        if values.size:
            ax.hist(values, bins=bins, range=(0, 1), alpha=0.5, label=f"{label} ({values.size} images)")
    ax.set(xlabel="F1 per image", ylabel="images")
    ax.legend(fontsize="small")
    return _save(figure, path)


def outcome_map(truth: np.ndarray, prediction: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8: TN black, FP red, FN blue, TP white."""
    return OUTCOME_COLOURS[2 * np.asarray(truth, dtype=np.int64) + np.asarray(prediction, dtype=np.int64)]


def plot_examples(examples: Sequence[dict], path: str | Path) -> Path:
    """A row per example: date 1, date 2, true change, predicted change coloured by outcome.

    Each example is a dict with ``name``, ``image`` ``(2, C, H, W)`` in [0, 1] (first three bands
    shown), ``mask`` ``(H, W)`` 0/1 and ``prediction`` ``(H, W)`` 0/1 (numpy or torch).
    """
    if not examples:
        raise ValueError("no examples to plot")
    figure, axes = _figure(len(examples), 4, size=(3, 3))
    for row, example in zip(axes, examples, strict=True):
        image = np.asarray(example["image"], dtype=np.float32)
        dates = [np.clip(image[t, :3].transpose(1, 2, 0), 0, 1) for t in range(2)]
        dates = [d if d.shape[-1] == 3 else np.repeat(d[..., :1], 3, axis=-1) for d in dates]
        truth = np.asarray(example["mask"])
        panels = [*dates, truth, outcome_map(truth, np.asarray(example["prediction"]))]
        titles = [f"{example['name']} t1", "t2", "true change", "predicted (FP red, FN blue)"]
        for ax, panel, title in zip(row, panels, titles, strict=True):
            ax.imshow(
                panel, cmap="gray" if panel.ndim == 2 else None, vmin=0, vmax=1, interpolation="nearest"
            )
            ax.set_title(title, fontsize="small")
            ax.set_axis_off()
    return _save(figure, path)


def plot_image_grid(
    rows: Sequence[Sequence[np.ndarray]],
    path: str | Path,
    *,
    row_titles: Sequence[str] = (),
    column_titles: Sequence[str] = (),
    size: float = 3.0,
) -> Path:
    """A grid of pictures: each an (H, W, 3) uint8 RGB array or an (H, W) map shown in grey.

    Pictures of one row may differ in size (e.g. the same footprint at 60 m and at 4 m): each fills
    its panel. Rows may be shorter than others; a column's title goes on its first picture.
    """
    if not rows or not rows[0]:
        raise ValueError("no pictures to plot")
    columns = max(len(r) for r in rows)
    first_row = [min(r for r, pictures in enumerate(rows) if len(pictures) > c) for c in range(columns)]
    figure, axes = _figure(len(rows), columns, size=(size, size))
    for r, (row, pictures) in enumerate(zip(axes, rows, strict=True)):
        for c, ax in enumerate(row):
            ax.set_axis_off()
            if c >= len(pictures):
                continue
            picture = np.asarray(pictures[c])
            ax.imshow(picture, cmap="gray" if picture.ndim == 2 else None, interpolation="nearest")
            title = column_titles[c] if r == first_row[c] and c < len(column_titles) else ""
            if c == 0 and r < len(row_titles):
                title = f"{row_titles[r]}: {title}" if title else row_titles[r]
            ax.set_title(title, fontsize="small")
    return _save(figure, path)


def plot_canvas_windows(canvas: np.ndarray, path: str | Path, *, stride: int, offset: int) -> Path:
    """An (H, W, 3) uint8 canvas with the lines where generation windows were cut and merged
    (every ``stride`` pixels from ``offset``), to look for seams."""
    canvas = np.asarray(canvas)
    height, width = canvas.shape[:2]
    scale = 8.0 / max(height, width)
    figure, axes = _figure(size=(width * scale, height * scale))
    ax = axes[0, 0]
    ax.imshow(canvas, interpolation="nearest")
    for x in range(offset, width, stride):
        ax.axvline(x - 0.5, color="yellow", linewidth=0.4, alpha=0.6)
    for y in range(offset, height, stride):
        ax.axhline(y - 0.5, color="yellow", linewidth=0.4, alpha=0.6)
    ax.set_title(f"{width} x {height} px canvas, window cuts every {stride} px", fontsize="small")
    ax.set_axis_off()
    return _save(figure, path)
