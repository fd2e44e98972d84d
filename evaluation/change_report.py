"""The files of a change-detection evaluation: its results (netCDF) with, beside them, the
precision-recall curves, the per-image F1 histogram and example predictions of each model."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import xarray as xr


def change_report_paths(out: str | Path, models: Sequence[str] = ()) -> list[Path]:
    """The files :func:`write_change_report` writes: ``out`` (netCDF), then beside it
    ``<stem>_pr.png``, ``<stem>_f1.png`` and ``<stem>_examples_<model>.png`` per model shown."""
    out = Path(out)
    figures = ["pr", "f1", *(f"examples_{name}" for name in models)]
    return [out, *(out.with_name(f"{out.stem}_{figure}.png") for figure in figures)]


def write_change_report(
    results: xr.Dataset, examples: Mapping[str, Sequence[dict]], out: str | Path
) -> list[Path]:
    """Save the figures and the results (see :func:`change_report_paths`); the results file is
    written last, so that it is there only when the whole report is.

    ``examples``: model name -> its example predictions (dicts for
    :func:`~terrasynth.evaluation.plots.plot_examples`); models without any get no example figure.
    """
    from terrasynth.evaluation.plots import plot_examples, plot_f1_histogram, plot_precision_recall
    from terrasynth.evaluation.results import save_results

    shown = {name: kept for name, kept in examples.items() if kept}
    out, pr, f1, *example_paths = change_report_paths(out, list(shown))
    written = [plot_precision_recall(results, pr), plot_f1_histogram(results, f1)]
    written += [plot_examples(kept, path) for kept, path in zip(shown.values(), example_paths, strict=True)]
    return [save_results(results, out), *written]
