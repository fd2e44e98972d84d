"""The LightningDataModule of the change detector: change pair samples (any LEVIR-layout folder, a
synthetic change set, ...), cropped and augmented for training.

A sample is a dict: ``image`` float32 ``(2, C, H, W)`` in [0, 1], ``mask`` int64 ``(H, W)`` 0/1,
optionally ``semantic`` int64 ``(2, H, W)`` SECOND values 0-6 and ``name``. On several processes,
Lightning's distributed sampler gives each its share of the shuffled training samples and of the
validation samples.
"""

from __future__ import annotations

from collections.abc import Sized
from functools import partial

import lightning as L
import torch
from torch.utils.data import DataLoader, Dataset, default_collate

from terrasynth.models.detector import random_crop, random_dihedral
from terrasynth.trainers.settings import TrainSettings

SAMPLE_KEYS = ("image", "mask", "semantic", "name")


class ChangeDataModule(L.LightningDataModule):
    """Training samples shuffled, cropped to ``settings.crop_size`` and augmented (``settings.augment``),
    and validation samples (when given) cropped only, in batches of ``settings.batch_size``."""

    def __init__(self, dataset: Dataset, settings: TrainSettings, val_dataset: Dataset | None = None):
        super().__init__()
        self.dataset, self.settings, self.val_dataset = dataset, settings, val_dataset

    def _loader(self, dataset: Dataset, **options) -> DataLoader:
        return DataLoader(
            dataset, batch_size=self.settings.batch_size, num_workers=self.settings.num_workers, **options
        )

    def train_dataloader(self) -> DataLoader:
        s = self.settings
        batches = partial(collate_change_pairs, crop_size=s.crop_size, augment=s.augment)
        return self._loader(self.dataset, shuffle=True, collate_fn=batches)

    def val_dataloader(self) -> DataLoader | list:
        if self.val_dataset is None:
            return []  # no validation (the trainer's limit_val_batches is 0)
        batches = partial(collate_change_pairs, crop_size=self.settings.crop_size)
        return self._loader(self.val_dataset, collate_fn=batches)


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


def changed_fraction(dataset: Dataset) -> float:
    """The share of changed pixels over every sample's ``mask`` (reads the whole data set once)."""
    assert isinstance(dataset, Sized)  # a map-style data set
    changed = total = 0
    for index in range(len(dataset)):
        mask = dataset[index]["mask"]
        changed, total = changed + int(torch.count_nonzero(mask)), total + mask.numel()
    return changed / total
