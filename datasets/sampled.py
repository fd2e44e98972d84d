"""A map-style view of a geospatial dataset over the queries one torchgeo sampler yields."""

from __future__ import annotations

from typing import Any

from torch.utils.data import Dataset, Sampler


class SampledDataset(Dataset):
    """Item ``i`` is the sample at the ``i``-th query of ``sampler``.

    The queries are drawn once, when the view is built, so every epoch sees the same tiles: a
    trainer that shuffles integer indices (and seeds its shuffle per epoch) resumes exactly. Works
    with a :class:`CorpusDataset` and a torchgeo sampler, or a :class:`CorpusRegions` and a
    :class:`RegionSampler`.
    """

    def __init__(self, dataset, sampler: Sampler) -> None:
        self.dataset = dataset
        self.queries = list(sampler)

    def __len__(self) -> int:
        return len(self.queries)

    def __getitem__(self, index: int) -> dict[str, Any]:
        return self.dataset[self.queries[index]]
