"""Every region of a corpus at one level, each kept in its own UTM CRS.

torchgeo combines datasets into one CRS by warping (``UnionDataset``); a corpus' regions are
instead kept on their own undistorted grids. :class:`CorpusRegions` holds one torchgeo dataset per
region and is indexed by ``(region, query)``; :class:`~terrasynth.datasets.RegionSampler` yields
those keys from one torchgeo sampler per region, drawing regions in proportion to valid area::

    regions = CorpusRegions.from_corpus("corpus.zarr", "16m", CascadePairs)
    sampler = RegionSampler(regions, lambda ds: random_sampler(ds, 256), length=10_000)
    loader = DataLoader(regions, sampler=sampler, batch_size=8, collate_fn=stack_samples)

Samples of a batch may then come from several CRS; torchgeo's ``stack_samples`` keeps ``crs`` and
``bounds`` as lists.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from torch.utils.data import Dataset

from terrasynth.core.corpus import corpus_regions, open_corpus
from terrasynth.core.errors import CorpusError
from terrasynth.core.levels import Level
from terrasynth.datasets.corpus import CorpusDataset, NoValidTilesError


class CorpusRegions(Dataset):
    """One :class:`CorpusDataset` (or subclass) per region, indexed by ``(region, query)``.

    Attributes:
        datasets: region name -> its dataset (queries in that region's CRS, metres).
        valid_area: region name -> valid area of its indexed tiles, square metres.
    """

    def __init__(self, datasets: Mapping[str, CorpusDataset]):
        if not datasets:
            raise CorpusError("CorpusRegions needs at least one region's dataset")
        self.datasets = dict(datasets)
        self.valid_area = {name: ds.valid_area for name, ds in self.datasets.items()}

    @classmethod
    def from_corpus(
        cls,
        path: str | Path,
        level: str | float | Level,
        dataset: type[CorpusDataset] = CorpusDataset,
        *,
        regions: list[str] | None = None,
        **options,
    ) -> CorpusRegions:
        """Open ``level`` of every region (or of ``regions``) as ``dataset(path, level, region, **options)``.

        A region none of whose tiles reaches ``min_valid_fraction`` is left out.
        """
        tree = open_corpus(path)
        datasets = {}
        for region in regions or corpus_regions(tree):
            try:
                datasets[region] = dataset(path, level, region, tree=tree, **options)
            except NoValidTilesError:
                continue
        if not datasets:
            raise NoValidTilesError(
                f"{path}: no region has a {level} tile with enough valid data; lower min_valid_fraction"
            )
        return cls(datasets)

    def __len__(self) -> int:
        """Number of indexed tiles over all regions."""
        return sum(len(ds) for ds in self.datasets.values())

    def __getitem__(self, key: tuple[str, Any]) -> dict[str, Any]:
        """The sample of ``(region, query)``, the query a torchgeo slice in that region's CRS."""
        region, query = key
        if region not in self.datasets:
            raise KeyError(f"no region {region!r}; regions: {sorted(self.datasets)}")
        return self.datasets[region][query]
