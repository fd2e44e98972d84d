"""Binary change scores: ONE confusion matrix accumulated over the whole test set.

For the change class: P = TP/(TP+FP), R = TP/(TP+FN), F1 = 2PR/(P+R) = 2TP/(2TP+FP+FN),
IoU = TP/(TP+FP+FN); NaN where a denominator is 0. :class:`BinaryChangeMetrics` is a
``torchmetrics.Metric``: its confusion matrices are summed states (and the per-image counts
gathered ones), so processes of a DDP run (or :meth:`~torchmetrics.Metric.merge_state` of
metrics updated on parts of a set) give the scores of the whole set. Per-image counts are counted
here (torchmetrics' samplewise stat scores fail on a batch of one); the threshold sweep counts
``p >= t``, as torchmetrics' binned precision-recall curve does.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import xarray as xr
from torchmetrics import Metric
from torchmetrics.utilities import dim_zero_cat

BINARY_METRICS = ("precision", "recall", "f1", "iou")


def binary_scores(tp, fp, fn) -> dict[str, np.ndarray]:
    """Precision, recall, F1 and IoU of the change class from counts (scalars or arrays)."""
    tp, fp, fn = (np.asarray(v, dtype=np.float64) for v in (tp, fp, fn))
    with np.errstate(divide="ignore", invalid="ignore"):
        return {
            "precision": np.where(tp + fp > 0, tp / (tp + fp), np.nan),
            "recall": np.where(tp + fn > 0, tp / (tp + fn), np.nan),
            "f1": np.where(2 * tp + fp + fn > 0, 2 * tp / (2 * tp + fp + fn), np.nan),
            "iou": np.where(tp + fp + fn > 0, tp / (tp + fp + fn), np.nan),
        }


class BinaryChangeMetrics(Metric):
    """Accumulates binary change predictions over a test set.

    Args:
        threshold: probability above which a pixel counts as changed (``p > threshold``).
        thresholds: the sweep for the precision-recall curve: a count of evenly spaced values in
            [0, 1] or the values themselves (counted as ``p >= t`` there).
        kwargs: those of ``torchmetrics.Metric`` (``sync_on_compute``, ``process_group``...).

    States: ``confusion`` (truth, predicted) and ``sweep`` (threshold, truth, predicted) pixel
    counts, summed across processes; ``image_counts``, per image (tp, fp, tn, fn), gathered.
    Image names are kept by the process that saw them (and carried over by
    :meth:`merge_state` from another :class:`BinaryChangeMetrics`); where the gathered counts
    outnumber them (after a DDP sync), images are numbered in the gathered order.
    """

    full_state_update = False
    is_differentiable = False
    higher_is_better = True
    # the states and buffer registered in __init__ (nn.Module's __getattr__ types them Tensor | Module)
    thresholds: torch.Tensor
    confusion: torch.Tensor
    sweep: torch.Tensor
    image_counts: list[torch.Tensor]

    def __init__(self, threshold: float = 0.5, thresholds: int | Sequence[float] = 101, **kwargs):
        super().__init__(**kwargs)
        self.threshold = float(threshold)
        values = torch.linspace(0, 1, thresholds) if isinstance(thresholds, int) else thresholds
        self.register_buffer("thresholds", torch.as_tensor(values, dtype=torch.float32), persistent=False)
        self.add_state("confusion", torch.zeros(2, 2, dtype=torch.long), dist_reduce_fx="sum")
        self.add_state(
            "sweep", torch.zeros(len(self.thresholds), 2, 2, dtype=torch.long), dist_reduce_fx="sum"
        )
        self.add_state("image_counts", [], dist_reduce_fx="cat")
        self.names: list[str] = []

    def update(
        self, probability: torch.Tensor, mask: torch.Tensor, names: Sequence[str] | None = None
    ) -> None:
        """Add a batch.

        Args:
            probability: ``(B, H, W)`` change probabilities in [0, 1].
            mask: ``(B, H, W)`` true change, 0/1.
            names: image names (default: running numbers).
        """
        probability, truth = (
            probability.detach().float().to(self.device),
            mask.detach().to(self.device).bool(),
        )
        if probability.shape != truth.shape or probability.ndim != 3:
            raise ValueError(
                f"expected matching (B, H, W) tensors, got {tuple(probability.shape)}, {tuple(mask.shape)}"
            )
        predicted = probability > self.threshold
        counts = [predicted & truth, predicted & ~truth, ~predicted & ~truth, ~predicted & truth]
        image_counts = torch.stack([c.sum((1, 2)) for c in counts], 1)
        self.image_counts.append(image_counts)
        tp, fp, tn, fn = image_counts.sum(0)
        self.confusion += torch.stack([torch.stack([tn, fp]), torch.stack([fn, tp])])
        self.sweep += _sweep(probability.flatten(), truth.flatten(), self.thresholds)
        start = len(self.names)
        self.names += list(names) if names is not None else [str(start + i) for i in range(len(truth))]

    def merge_state(self, incoming_state) -> None:
        """Add the states of another metric (or a dict of states); another
        :class:`BinaryChangeMetrics` brings its image names, first, as its counts come first."""
        super().merge_state(incoming_state)
        if isinstance(incoming_state, BinaryChangeMetrics):
            self.names = incoming_state.names + self.names

    def reset(self) -> None:
        super().reset()
        self.names = []

    def compute(self) -> xr.Dataset:
        """``scores (metric)``, ``confusion (truth, predicted)``, the sweep ``pr_precision``,
        ``pr_recall``, ``pr_f1`` ``(threshold)`` and ``image_f1 (image)`` (NaN where an image has
        no true and no predicted change)."""
        if not len(self.image_counts):
            raise ValueError("no predictions were added")
        counts = dim_zero_cat(self.image_counts).cpu().numpy()
        (tn, fp), (fn, tp) = self.confusion.cpu().numpy()
        scores = binary_scores(tp, fp, fn)
        sweep_counts = self.sweep.cpu().numpy()  # (threshold, truth, predicted)
        sweep = binary_scores(sweep_counts[:, 1, 1], sweep_counts[:, 0, 1], sweep_counts[:, 1, 0])
        image_f1 = binary_scores(counts[:, 0], counts[:, 1], counts[:, 3])["f1"]
        names = self.names if len(self.names) == len(counts) else [str(i) for i in range(len(counts))]
        return xr.Dataset(
            {
                "scores": ("metric", [float(scores[m]) for m in BINARY_METRICS]),
                "confusion": (("truth", "predicted"), np.array([[tn, fp], [fn, tp]], dtype=np.int64)),
                "pr_precision": ("threshold", sweep["precision"]),
                "pr_recall": ("threshold", sweep["recall"]),
                "pr_f1": ("threshold", sweep["f1"]),
                "image_f1": ("image", image_f1),
            },
            coords={
                "metric": list(BINARY_METRICS),
                "truth": [0, 1],
                "predicted": [0, 1],
                "threshold": self.thresholds.cpu().numpy().astype(np.float64),
                "image": names,
            },
            attrs={"threshold": self.threshold, "confusion": "one matrix over all pixels of the test set"},
        )


def _sweep(probability: torch.Tensor, truth: torch.Tensor, thresholds: torch.Tensor) -> torch.Tensor:
    """(threshold, truth, predicted) pixel counts with ``probability >= threshold`` as changed."""
    ordered, order = thresholds.sort()
    at_or_above = torch.bucketize(probability, ordered, right=True)  # thresholds <= p
    matrices = []
    for positive in (~truth, truth):
        per_bucket = torch.bincount(at_or_above[positive], minlength=len(ordered) + 1)
        predicted = per_bucket.flip(0).cumsum(0).flip(0)[1:]  # pixels with more than k thresholds <= p
        matrices.append(torch.stack([positive.sum() - predicted, predicted], -1))
    counts = torch.empty(len(ordered), 2, 2, dtype=torch.long, device=probability.device)
    counts[order] = torch.stack(matrices, 1)
    return counts
