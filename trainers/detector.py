"""The LightningModule of the change detector: its losses, AdamW and the learning-rate schedule."""

from __future__ import annotations

import math

import lightning as L
import torch

from terrasynth.models.detector import ChangeDetector, change_loss, semantic_loss


class DetectorModule(L.LightningModule):
    """The detector with its losses and AdamW.

    Args:
        config: the architecture, :class:`~terrasynth.models.detector.ChangeDetector` keyword arguments.
        encoder_weights: a local timm state dict for the encoder (never downloaded), or None.
        learning_rate, weight_decay: AdamW's.
        dice_weight: weight of the Dice term next to binary cross-entropy.
        positive_weight: binary cross-entropy weight of changed pixels (unchanged ones weigh 1).
        semantic_weight: weight of the semantic cross-entropy (models with semantic heads).
        schedule: ``constant``, or ``cosine``: the learning rate falls from ``learning_rate`` to 0
            over the run's optimizer steps, so that the final weights do not hang on the last few
            batches.
    """

    def __init__(
        self,
        config: dict,
        *,
        encoder_weights: str | None = None,
        learning_rate: float,
        weight_decay: float,
        dice_weight: float,
        semantic_weight: float,
        schedule: str = "constant",
        positive_weight: float = 1.0,
    ):
        super().__init__()
        self.save_hyperparameters()
        self.model = ChangeDetector(**config, encoder_weights=encoder_weights)

    def _loss(self, batch: dict, stage: str) -> torch.Tensor:
        outputs = self.model(batch["image"])
        size = len(batch["mask"])
        loss = change_loss(
            outputs["change"],
            batch["mask"],
            dice_weight=self.hparams["dice_weight"],
            positive_weight=self.hparams["positive_weight"],
        )
        self.log(f"{stage}_change_loss", loss, prog_bar=True, batch_size=size, sync_dist=stage == "val")
        if "semantic" in outputs and "semantic" in batch:
            extra = semantic_loss(outputs["semantic"], batch["semantic"])
            self.log(f"{stage}_semantic_loss", extra, batch_size=size, sync_dist=stage == "val")
            loss = loss + self.hparams["semantic_weight"] * extra
        return loss

    def training_step(self, batch, batch_index):
        return self._loss(batch, "train")

    def validation_step(self, batch, batch_index):
        self._loss(batch, "val")

    def configure_optimizers(self):
        optimizer = torch.optim.AdamW(
            self.parameters(), lr=self.hparams["learning_rate"], weight_decay=self.hparams["weight_decay"]
        )
        if self.hparams["schedule"] == "constant":
            return optimizer
        # read the run's length at every step: a run extended with more epochs stretches its schedule
        cosine = torch.optim.lr_scheduler.LambdaLR(
            optimizer,
            lambda step: (
                0.5 * (1 + math.cos(math.pi * min(1.0, step / self.trainer.estimated_stepping_batches)))
            ),
        )
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": cosine, "interval": "step"}}
