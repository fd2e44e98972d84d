"""Zero-shot (or supervised) change detection on a benchmark, as an xarray results Dataset.

Glue: load each detector checkpoint, score it with
:func:`~terrasynth.evaluation.change_detection.evaluate_change_detection` (every full-size image
pair through sliding-window inference; the binary scores from one confusion matrix over the whole
split, SECOND-style semantic scores, both variants, named, when the data set has ``semantic``
labels and the detector six-class semantic heads), and write the results and figures
(:mod:`~terrasynth.evaluation.change_report`). Several
checkpoints side by side (zero-shot against supervised) are one call: :func:`compare_checkpoints`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path


def evaluate_change(dataset, checkpoint: str | Path, *, model_name: str | None = None, **options):
    """Evaluate one checkpoint on one split of a data set; returns the results Dataset.

    ``model_name`` is its ``model`` coordinate (default: see :func:`checkpoint_name`); ``options``
    are those of :func:`compare_checkpoints`.
    """
    return compare_checkpoints(dataset, {model_name or checkpoint_name(checkpoint): checkpoint}, **options)


def compare_checkpoints(
    dataset,
    checkpoints: Mapping[str, str | Path],
    *,
    dataset_name: str,
    split: str = "test",
    window: int = 512,
    overlap: float = 0.25,
    threshold: float = 0.5,
    thresholds: int = 101,
    device: str | None = None,
    out: str | Path | None = None,
    overwrite: bool = False,
    examples: int = 4,
    on_image: Callable[[], None] | None = None,
):
    """Evaluate several named detector checkpoints (e.g. ``{"zero-shot": ..., "supervised": ...}``)
    on one split of a data set; returns one results Dataset along ``model``.

    Args:
        dataset: a torch Dataset of change pair samples (``image`` ``(2, C, H, W)`` in [0, 1],
            ``mask`` ``(H, W)``, optionally ``semantic`` ``(2, H, W)`` and ``name``), full size.
        checkpoints: model name -> a detector's model folder (``ChangeDetector.save_pretrained``; a
            training run's ``model/``).
        dataset_name, split: the ``dataset`` and ``split`` coordinates of the result.
        window, overlap: sliding-window size in pixels (at least 1) and overlap fraction, in [0, 1).
        threshold: change probability above which a pixel counts as changed.
        thresholds: points of the precision-recall sweep over [0, 1].
        device: torch device for inference (default: a GPU when there is one).
        out: when given, the results are saved there (netCDF) with figures beside it
            (see :func:`~terrasynth.evaluation.change_report.write_change_report`); checked before the evaluation starts.
        overwrite: replace existing results and figures at ``out``.
        examples: image pairs (the first ones) shown in the example figure of each model.
        on_image: called after every image (progress bars).

    Returns:
        Every variable has dims ``model``, ``dataset``, ``split``, then: ``scores (metric)``,
        ``confusion (truth, predicted)``, ``pr_precision``/``pr_recall``/``pr_f1 (threshold)``,
        ``image_f1 (image)`` and, for semantic change, ``semantic_scores (variant, semantic_metric)``.
    """
    import xarray as xr

    from terrasynth.core.errors import ConfigError
    from terrasynth.core.outputs import check_output
    from terrasynth.evaluation.change_report import change_report_paths, write_change_report
    from terrasynth.workflows.devices import torch_device

    if window < 1:
        raise ConfigError(f"the window (--window) must be at least 1 pixel, got {window}")
    if not 0 <= overlap < 1:
        raise ConfigError(f"the overlap (--overlap) must be at least 0 and below 1, got {overlap}")
    device = str(torch_device(device))
    if out is not None:
        for path in change_report_paths(out, [name for name in checkpoints if examples > 0]):
            check_output(path, overwrite=overwrite)
    runs = {
        name: _evaluate(
            dataset, path, name, dataset_name=dataset_name, split=split, window=window, overlap=overlap,
            threshold=threshold, thresholds=thresholds, device=device, examples=examples, on_image=on_image,
        )
        for name, path in checkpoints.items()
    }  # fmt: skip
    results = xr.concat(
        [r for r, _ in runs.values()], dim="model", join="outer", combine_attrs="drop_conflicts"
    )
    if out is not None:
        write_change_report(results, {name: kept for name, (_, kept) in runs.items()}, out)
    return results


def _evaluate(
    dataset, checkpoint, name, *, dataset_name, split, window, overlap, threshold, thresholds, device, examples,
    on_image,
):  # fmt: skip
    """One checkpoint's results and its first ``examples`` predictions (dicts for plot_examples)."""
    from terrasynth.evaluation.change_detection import SlidingWindowDetector, evaluate_change_detection
    from terrasynth.models.detector import ChangeDetector
    from terrasynth.models.pretrained import public_config

    model = ChangeDetector.from_pretrained(checkpoint).to(device)
    record = Path(checkpoint) / "training.json"  # written beside the model by train_detector
    metadata = json.loads(record.read_text()) if record.is_file() else {}
    kept = []

    def on_prediction(example: dict) -> None:
        if len(kept) < examples:
            kept.append(example)
        if on_image:
            on_image()

    results = evaluate_change_detection(
        SlidingWindowDetector(model, window=window, overlap=overlap), dataset, threshold=threshold,
        thresholds=thresholds, device=device, on_prediction=on_prediction,
    )  # fmt: skip
    results.attrs |= {
        "checkpoint": str(checkpoint),
        "detector": json.dumps(public_config(model)),
        "trained_on": str(metadata.get("trained_on", "")),
        "window": window,
        "overlap": overlap,
    }
    return results.expand_dims(model=[name], dataset=[dataset_name], split=[split]), kept


def checkpoint_name(path: str | Path) -> str:
    """A model name for a model folder: its name, or its training run's for a run's ``model/``."""
    path = Path(path)
    return path.parent.name if path.name == "model" else path.name
