"""The data order of a diffusion training run, the same in a resumed run as in an uninterrupted one."""

from __future__ import annotations

import math

import torch
from torch.utils.data import Sampler


class EpochSampler(Sampler[int]):
    """One rank's share of an epoch: a permutation seeded by (seed, epoch), repeated to fill it.

    Seeding by epoch (not a running generator) makes the order of a resumed run the same as an
    uninterrupted one's; Lightning calls :meth:`set_epoch`.
    """

    def __init__(self, size: int, length: int, seed: int, rank: int, world_size: int):
        self.size, self.length, self.seed, self.rank, self.world_size = size, length, seed, rank, world_size
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __iter__(self):
        generator = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
        total = self.length * self.world_size
        order = torch.cat(
            [torch.randperm(self.size, generator=generator) for _ in range(math.ceil(total / self.size))]
        )
        return iter(order[:total][self.rank :: self.world_size].tolist())

    def __len__(self) -> int:
        return self.length
