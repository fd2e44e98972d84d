"""SECOND semantic change scores, in two named variants.

``official`` (Bi-SRNet's SCDD_eval_all, the numbers SECOND papers report): a 7 x 7 confusion
matrix Q (rows predicted, columns true) over the t1 and t2 value maps stacked, values 0-6 with
0 = no change. From it:

- IoU_nc, IoU_c: IoU of "no change" and "change" after collapsing Q to 2 x 2; mIoU their mean;
- kappa from Q' = Q with Q[0, 0] = 0: p_o = trace/total, p_e = sum(row sums x column sums)/total^2,
  kappa = (p_o - p_e) / (1 - p_e); SeK = kappa x exp(IoU_c - 1); Score = 0.3 mIoU + 0.7 SeK;
- F_scd: P_scd = (sum of Q's diagonal without Q[0, 0]) / predicted changed pixels, R_scd the same
  over truly changed pixels, F_scd their harmonic mean.

``torchange-37`` (torchange's SECOND evaluation): one map of 37 from-to classes, 0 = no change and
``(s1 - 1) * 6 + (s2 - 1) + 1`` for a change from value s1 to s2, with the same formulas on the
37 x 37 matrix; its numbers differ from the official ones.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import xarray as xr

from terrasynth.core.errors import CorpusError

VARIANTS = ("official", "torchange-37")
SEMANTIC_METRICS = ("iou_nc", "iou_c", "miou", "kappa", "sek", "score", "p_scd", "r_scd", "f_scd")
SECOND_VALUES = 7


def confusion(predicted: np.ndarray, truth: np.ndarray, classes: int) -> np.ndarray:
    """``classes`` x ``classes`` counts, rows predicted, columns true."""
    index = predicted.astype(np.int64).ravel() * classes + truth.astype(np.int64).ravel()
    return np.bincount(index, minlength=classes * classes).reshape(classes, classes)


def second_maps(change: torch.Tensor, semantic: torch.Tensor, *, where: str = "semantic map") -> torch.Tensor:
    """``(B, 2, H, W)`` value maps 0-6: each date's value where ``change`` is 1, else 0.

    Args:
        change: ``(B, H, W)`` 0/1.
        semantic: ``(B, 2, H, W)`` SECOND values; 1-6 required at changed pixels.
    """
    changed = change.bool()[:, None].expand_as(semantic)
    values = semantic.long()
    if changed.any() and (values[changed].min() < 1 or values[changed].max() > 6):
        raise CorpusError(f"{where}: changed pixels need SECOND values 1-6 at both dates")
    return torch.where(changed, values, torch.zeros_like(values))


def from_to_map(maps: torch.Tensor) -> torch.Tensor:
    """torchange's 37-class map ``(B, H, W)`` from ``(B, 2, H, W)`` value maps (see the module doc)."""
    t1, t2 = maps[:, 0], maps[:, 1]
    return torch.where(t1 > 0, (t1 - 1) * 6 + (t2 - 1) + 1, torch.zeros_like(t1))


def second_scores(q: np.ndarray) -> dict[str, float]:
    """The SECOND scores (:data:`SEMANTIC_METRICS`) of a confusion matrix, rows predicted, 0 = no change."""
    q = np.asarray(q, dtype=np.float64)
    total = q.sum()
    binary = np.array([[q[0, 0], q[0, 1:].sum()], [q[1:, 0].sum(), q[1:, 1:].sum()]])
    with np.errstate(divide="ignore", invalid="ignore"):
        iou = np.diag(binary) / (binary.sum(0) + binary.sum(1) - np.diag(binary))
    q0 = q.copy()
    q0[0, 0] = 0
    kappa = _kappa(q0)
    correct_changes = np.trace(q) - q[0, 0]
    predicted_changes, true_changes = total - q[0].sum(), total - q[:, 0].sum()
    precision = correct_changes / predicted_changes if predicted_changes else math.nan
    recall = correct_changes / true_changes if true_changes else math.nan
    # harmonic mean; 0 when both are 0, NaN when either is undefined
    f_scd = 2 * precision * recall / (precision + recall) if precision + recall > 0 else precision + recall
    miou = (iou[0] + iou[1]) / 2
    sek = kappa * math.exp(iou[1] - 1)
    return {
        "iou_nc": float(iou[0]),
        "iou_c": float(iou[1]),
        "miou": float(miou),
        "kappa": float(kappa),
        "sek": float(sek),
        "score": float(0.3 * miou + 0.7 * sek),
        "p_scd": float(precision),
        "r_scd": float(recall),
        "f_scd": float(f_scd),
    }


def _kappa(q: np.ndarray) -> float:
    total = q.sum()
    if total == 0:
        return 0.0
    observed = np.trace(q) / total
    expected = float(q.sum(1) @ q.sum(0)) / total**2
    return 0.0 if expected == 1 else float((observed - expected) / (1 - expected))


class SemanticChangeMetrics:
    """Accumulates SECOND-style predictions over a test set in both variants."""

    def __init__(self):
        self.matrices = {
            "official": np.zeros((SECOND_VALUES, SECOND_VALUES), dtype=np.int64),
            "torchange-37": np.zeros((37, 37), dtype=np.int64),
        }

    def update(
        self,
        predicted_change: torch.Tensor,
        predicted_semantic: torch.Tensor,
        true_change: torch.Tensor,
        true_semantic: torch.Tensor,
    ) -> None:
        """Add a batch: changes ``(B, H, W)`` 0/1 and semantic values ``(B, 2, H, W)`` (1-6 where changed)."""
        predicted = second_maps(predicted_change.cpu(), predicted_semantic.cpu(), where="prediction")
        truth = second_maps(true_change.cpu(), true_semantic.cpu(), where="label")
        self.matrices["official"] += confusion(predicted.numpy(), truth.numpy(), SECOND_VALUES)
        self.matrices["torchange-37"] += confusion(
            from_to_map(predicted).numpy(), from_to_map(truth).numpy(), 37
        )

    def compute(self) -> xr.Dataset:
        """``semantic_scores (variant, semantic_metric)``."""
        table = [[second_scores(self.matrices[v])[m] for m in SEMANTIC_METRICS] for v in VARIANTS]
        return xr.Dataset(
            {"semantic_scores": (("variant", "semantic_metric"), np.array(table))},
            coords={"variant": list(VARIANTS), "semantic_metric": list(SEMANTIC_METRICS)},
        )
