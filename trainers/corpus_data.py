"""The LightningDataModule of the diffusion trainers: corpus samples (the tiles of a corpus, or any
map-style dataset of such samples) in :class:`~terrasynth.trainers.epoch_sampler.EpochSampler`
order, and the first samples for the quick-looks.

On several processes, each trains on its own share of every epoch, and validation, which draws
the quick-look samples, runs on the first process only: the others step through the same batch
without drawing, so that every process makes the same calls into the strategy's wrapped model.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence, Sized

import lightning as L
import torch
from torch.utils.data import DataLoader, Dataset, Subset

from terrasynth.core.errors import ConfigError
from terrasynth.trainers.epoch_sampler import EpochSampler
from terrasynth.trainers.settings import DiffusionTraining


class CorpusDataModule(L.LightningDataModule):
    """``dataset`` served in batches ``collate`` makes, as ``settings`` say (batch size, steps per
    epoch, seed, workers, quick-look samples)."""

    def __init__(
        self, dataset: Dataset, settings: DiffusionTraining, collate: Callable[[Sequence[dict]], dict]
    ):
        super().__init__()
        self.dataset, self.settings, self.collate = dataset, settings, collate

    def train_dataloader(self) -> DataLoader:
        s, trainer = self.settings, self.trainer
        assert trainer is not None and isinstance(self.dataset, Sized)  # attached by fit; map-style
        per_rank = s.batch_size * s.accumulate * (s.steps_per_epoch or 0)
        if not per_rank:  # one pass over the data per epoch
            per_rank = len(self.dataset) // (s.batch_size * trainer.world_size) * s.batch_size
        if not per_rank:
            raise ConfigError(
                f"{len(self.dataset)} samples do not fill one batch of {s.batch_size} on each of "
                f"{trainer.world_size} devices: lower batch_size or set steps_per_epoch"
            )
        sampler = EpochSampler(len(self.dataset), per_rank, s.seed, trainer.global_rank, trainer.world_size)
        return DataLoader(
            self.dataset, s.batch_size, sampler=sampler, num_workers=s.num_workers, drop_last=True,
            collate_fn=self.collate, persistent_workers=s.num_workers > 0,
        )  # fmt: skip

    def val_dataloader(self) -> DataLoader:
        assert isinstance(self.dataset, Sized)  # a map-style data set
        shown = Subset(self.dataset, range(min(self.settings.samples, len(self.dataset))))
        return DataLoader(shown, self.settings.samples, collate_fn=self.collate)


def stack_keys(samples: Sequence[dict], keys: Sequence[str]) -> dict:
    """The tensors under ``keys`` stacked across ``samples``; other keys (torchgeo's ``crs``/``bounds``) are dropped."""
    return {k: torch.stack([torch.as_tensor(s[k]) for s in samples]) for k in keys if k in samples[0]}
