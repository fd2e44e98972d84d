"""Lightning wiring of the change detector: the LightningModule and batching.

Imported by :mod:`.train_detector` when training starts (Lightning is heavy to import).
"""

from __future__ import annotations

import math

import lightning as L
import torch
from torch.utils.data import default_collate

from terrasynth.models.detector import (
    ChangeDetector,
    change_loss,
    random_crop,
    random_dihedral,
    semantic_loss,
)

SAMPLE_KEYS = ("image", "mask", "semantic", "name")


class DetectorModule(L.LightningModule):
    """The detector with its losses and AdamW.

    Args:
        model: the detector.
        learning_rate, weight_decay: AdamW's.
        schedule: ``constant``, or ``cosine``: the learning rate falls from ``learning_rate`` to 0
            over the run's optimizer steps, so that the final weights do not hang on the last few
            batches.
        dice_weight: weight of the Dice term next to binary cross-entropy.
        semantic_weight: weight of the semantic cross-entropy (models with semantic heads).
    """

    def __init__(
        self,
        model: ChangeDetector,
        *,
        learning_rate: float,
        weight_decay: float,
        dice_weight: float,
        semantic_weight: float,
        schedule: str = "constant",
    ):
        super().__init__()
        self.model = model
        self.learning_rate, self.weight_decay, self.schedule = learning_rate, weight_decay, schedule
        self.dice_weight, self.semantic_weight = dice_weight, semantic_weight

    def _loss(self, batch: dict, stage: str) -> torch.Tensor:
        outputs = self.model(batch["image"])
        size = len(batch["mask"])
        loss = change_loss(outputs["change"], batch["mask"], dice_weight=self.dice_weight)
        self.log(f"{stage}_change_loss", loss, prog_bar=True, batch_size=size, sync_dist=stage == "val")
        if "semantic" in outputs and "semantic" in batch:
            extra = semantic_loss(outputs["semantic"], batch["semantic"])
            self.log(f"{stage}_semantic_loss", extra, batch_size=size, sync_dist=stage == "val")
            loss = loss + self.semantic_weight * extra
        return loss

    def training_step(self, batch, batch_index):
        return self._loss(batch, "train")

    def validation_step(self, batch, batch_index):
        self._loss(batch, "val")

    def configure_optimizers(self):
        optimizer = torch.optim.AdamW(
            self.parameters(), lr=self.learning_rate, weight_decay=self.weight_decay
        )
        if self.schedule == "constant":
            return optimizer
        # read the run's length at every step: a run extended with more epochs stretches its schedule
        cosine = torch.optim.lr_scheduler.LambdaLR(
            optimizer,
            lambda step: (
                0.5 * (1 + math.cos(math.pi * min(1.0, step / self.trainer.estimated_stepping_batches)))
            ),
        )
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": cosine, "interval": "step"}}


def collate_change_pairs(samples: list[dict], crop_size: int = 0, augment: bool = False) -> dict:
    """Batch change pair samples, each first cropped to ``crop_size`` pixels when that is > 0
    and, with ``augment``, turned, mirrored and date-swapped at random (see
    :func:`~terrasynth.models.detector.random_dihedral`). The draws come from torch's global
    generator, seeded per worker by Lightning."""
    if crop_size:
        samples = [random_crop(s, crop_size) for s in samples]
    if augment:
        samples = [random_dihedral(s) for s in samples]
    return default_collate([{k: s[k] for k in SAMPLE_KEYS if k in s} for s in samples])
