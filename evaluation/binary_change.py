"""Binary change scores: ONE confusion matrix accumulated over the whole test set.

For the change class: P = TP/(TP+FP), R = TP/(TP+FN), F1 = 2PR/(P+R) = 2TP/(2TP+FP+FN),
IoU = TP/(TP+FP+FN); NaN where a denominator is 0. Per-image counts (summed into the set's matrix,
and giving the per-image F1) are counted here (torchmetrics' samplewise stat scores fail on a batch
of one); the threshold sweep is torchmetrics' binned precision-recall curve.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import xarray as xr

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


class BinaryChangeMetrics:
    """Accumulates binary change predictions over a test set.

    Args:
        threshold: probability above which a pixel counts as changed (``p > threshold``).
        thresholds: the sweep for the precision-recall curve: a count of evenly spaced values in
            [0, 1] or the values themselves (torchmetrics counts ``p >= t`` there).
    """

    def __init__(self, threshold: float = 0.5, thresholds: int | Sequence[float] = 101):
        from torchmetrics.classification import BinaryPrecisionRecallCurve

        self.threshold = float(threshold)
        if isinstance(thresholds, int):
            thresholds = torch.linspace(0, 1, thresholds)
        self.curve = BinaryPrecisionRecallCurve(thresholds=torch.as_tensor(thresholds, dtype=torch.float32))
        self.counts: list[np.ndarray] = []  # per image: tp, fp, tn, fn
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
        probability, mask = probability.detach().float().cpu(), mask.detach().long().cpu()
        if probability.shape != mask.shape or probability.ndim != 3:
            raise ValueError(
                f"expected matching (B, H, W) tensors, got {tuple(probability.shape)}, {tuple(mask.shape)}"
            )
        predicted, truth = probability > self.threshold, mask.bool()
        counts = [predicted & truth, predicted & ~truth, ~predicted & ~truth, ~predicted & truth]
        self.counts.append(torch.stack([c.sum((1, 2)) for c in counts], 1).numpy())
        start = len(self.names)
        self.names += list(names) if names is not None else [str(start + i) for i in range(len(mask))]
        self.curve.update(probability.flatten(), mask.flatten())

    def compute(self) -> xr.Dataset:
        """``scores (metric)``, ``confusion (truth, predicted)``, the sweep ``pr_precision``,
        ``pr_recall``, ``pr_f1`` ``(threshold)`` and ``image_f1 (image)`` (NaN where an image has
        no true and no predicted change)."""
        if not self.counts:
            raise ValueError("no predictions were added")
        counts = np.concatenate(self.counts)
        tp, fp, tn, fn = counts.sum(axis=0)
        scores = binary_scores(tp, fp, fn)
        confmat = self.curve.confmat.numpy()  # (threshold, truth, predicted)
        sweep = binary_scores(confmat[:, 1, 1], confmat[:, 0, 1], confmat[:, 1, 0])
        image_f1 = binary_scores(counts[:, 0], counts[:, 1], counts[:, 3])["f1"]
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
                "threshold": self.curve.thresholds.numpy().astype(np.float64),
                "image": self.names,
            },
            attrs={"threshold": self.threshold, "confusion": "one matrix over all pixels of the test set"},
        )
