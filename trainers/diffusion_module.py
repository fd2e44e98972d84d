"""What the diffusion LightningModules share: random draws keyed by (seed, rank, key), and the
quick-looks drawn with the EMA weights.

A module's hyper-parameters (``save_hyperparameters``) hold its ``seed``. Quick-looks are written
to ``samples/`` of the run folder (the trainer's ``default_root_dir``) and to TensorBoard, by the
first process only.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import lightning as L
import numpy as np
import torch
from PIL import Image

from terrasynth.core.seeds import key_seed


class DiffusionModule(L.LightningModule):
    """A diffusion model in training: the keyed generators and quick-looks of its steps."""

    def keyed_generator(self, *key) -> torch.Generator:
        """A generator that depends only on (seed, rank, key), so a resumed run draws what the first would have."""
        return torch.Generator(self.device).manual_seed(
            key_seed(self.hparams["seed"], self.global_rank, *key)
        )

    def save_quicklook(self, picture: np.ndarray, batch_idx: int) -> None:
        """Write an RGB quick-look to ``samples/`` of the run folder and to TensorBoard."""
        path = Path(
            self.trainer.default_root_dir, "samples", f"epoch{self.current_epoch:04d}_batch{batch_idx}.png"
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(picture).save(path)
        if isinstance(self.logger, L.pytorch.loggers.TensorBoardLogger):
            self.logger.experiment.add_image(
                f"samples/{batch_idx}", picture, self.global_step, dataformats="HWC"
            )


def quicklook(columns: Sequence[torch.Tensor], rgb_bands: Sequence[int]) -> np.ndarray:
    """A uint8 RGB grid: one row per sample, one column per batch of reflectance (each upsampled to the largest)."""
    size = max(c.shape[-1] for c in columns)
    tiles = []
    for column in columns:
        bands = [b if b < column.shape[1] else 0 for b in rgb_bands]
        picture = torch.nn.functional.interpolate(column[:, bands].float(), size=(size, size), mode="nearest")
        tiles.append(picture)
    grid = torch.cat([torch.cat(list(t), dim=-2) for t in tiles], dim=-1)  # (3, rows * size, columns * size)
    stretched = (grid / 0.3).clamp(0, 1) * 255  # reflectance 0-0.3 spans the display range
    return stretched.round().byte().permute(1, 2, 0).cpu().numpy()
