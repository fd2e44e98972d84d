"""Corpus tiles as map-style datasets of samples, and the masks a mask-conditioned model (Changen2)
draws from.

A corpus sample is a dict (the contract with ``terrasynth.datasets``): ``image`` float32 (C, H, W)
reflectance, ``landcover`` int64 (H, W) WorldCover codes, ``valid`` bool (H, W), ``gsd`` float32 metres per
pixel, plus torchgeo's ``crs`` and ``bounds``.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch.utils.data import Dataset

from terrasynth.core.landcover import BUILDING
from terrasynth.core.seeds import key_seed
from terrasynth.datasets import CorpusRegions, RegionSampler, SampledDataset, grid_sampler
from terrasynth.datasets.changen2_inputs import MaskKind
from terrasynth.datasets.map_style import MapStyleDataset


def corpus_tiles(
    path: str | Path, level: str, tile_size: int, *, min_valid_fraction: float = 0.5
) -> tuple[SampledDataset, CorpusRegions]:
    """Every ``tile_size``-pixel tile of ``level`` of every region of a corpus (torchgeo's grid
    sampler, region after region) with at least ``min_valid_fraction`` valid pixels, as a
    map-style dataset of corpus samples; and the regions' datasets (bands, resolution)."""
    regions = CorpusRegions.from_corpus(
        path, level, tile_size=tile_size, min_valid_fraction=min_valid_fraction
    )
    tiles = RegionSampler(regions, lambda dataset: grid_sampler(dataset, tile_size, stride=tile_size))
    return SampledDataset(regions, tiles), regions


def sample_mask(sample: dict, encoding: MaskKind, key: int) -> torch.Tensor:
    """The (H, W) int64 mask of ``encoding``'s kind for a corpus sample: its land cover (with building
    footprints), its building footprints, or pseudo-classes of its image (k-means seeded by ``key``)."""
    if encoding.kind == "landcover":
        return torch.as_tensor(sample["landcover"]).long()
    if encoding.kind == "buildings":
        return (torch.as_tensor(sample["landcover"]) == BUILDING).long()
    generator = torch.Generator().manual_seed(key)
    return encoding.pseudo_mask(torch.as_tensor(sample["image"]).float(), generator=generator)


class MaskedSamples(Dataset):
    """Corpus samples with their ``mask`` (:func:`sample_mask`; pseudo-masks seeded by (seed, index))."""

    def __init__(self, dataset: MapStyleDataset, encoding: MaskKind, seed: int = 0):
        self.dataset, self.encoding, self.seed = dataset, encoding, seed

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int) -> dict:
        sample = self.dataset[index]
        return {**sample, "mask": sample_mask(sample, self.encoding, key_seed(self.seed, "mask", index))}
