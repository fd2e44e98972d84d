"""Training losses of the change detector: binary change (BCE + Dice) and per-date semantics."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from kornia.losses import dice_loss


def change_loss(
    logits: torch.Tensor, mask: torch.Tensor, *, dice_weight: float = 1.0, positive_weight: float = 1.0
) -> torch.Tensor:
    """Binary cross-entropy, its changed pixels weighted ``positive_weight``, plus ``dice_weight`` x
    the Dice loss of the change class.

    Args:
        logits: ``(B, 1, H, W)`` change logits.
        mask: ``(B, H, W)`` 0/1 change labels.
    """
    target = mask.to(logits.dtype)
    weight = torch.tensor(positive_weight, device=logits.device, dtype=logits.dtype)
    loss = F.binary_cross_entropy_with_logits(logits[:, 0], target, pos_weight=weight)
    if dice_weight:
        # kornia's Dice takes softmax logits: (0, z) has softmax (1 - sigmoid(z), sigmoid(z)), and the
        # class weights (0, 1) keep only the change class's Dice.
        two_class = torch.cat([torch.zeros_like(logits), logits], dim=1)
        weight = torch.tensor([0.0, 1.0], device=logits.device, dtype=logits.dtype)
        loss = loss + dice_weight * dice_loss(two_class, mask.long(), weight=weight)
    return loss


def semantic_loss(logits: torch.Tensor, semantic: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of both dates' semantic logits on labelled pixels.

    Args:
        logits: ``(B, 2, K, H, W)``; head class ``k`` stands for value ``k + 1``.
        semantic: ``(B, 2, H, W)`` values 0-K, 0 = unlabelled (SECOND labels only changed pixels).
    """
    if not (semantic > 0).any():
        return logits.sum() * 0.0
    return F.cross_entropy(logits.flatten(0, 1), semantic.flatten(0, 1).long() - 1, ignore_index=-1)


def balanced_positive_weight(changed_fraction: float, balance: float) -> float:
    """The BCE weight of changed pixels, ``((1 - p) / p) ** balance`` for a changed fraction ``p``:
    1 at ``balance`` 0, as much weight on all changed as on all unchanged pixels at 1. 1 where
    ``p`` is 0 or 1 (there is nothing to balance)."""
    if not 0 < changed_fraction < 1:
        return 1.0
    return ((1 - changed_fraction) / changed_fraction) ** balance
