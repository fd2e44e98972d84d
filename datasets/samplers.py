"""torchgeo's samplers under one name on torchgeo 0.8 and 0.10, and a sampler across corpus regions.

torchgeo 0.10 (Python >= 3.12) renamed ``RandomGeoSampler`` to ``RandomPatchSampler`` and
``GridGeoSampler`` to ``GriddedPatchSampler`` (keyword-only arguments, a numpy random generator,
queries without a time slice); 0.8 (Python 3.11) has only the old names. Take the samplers from
here and call them with keywords (``size=``, ``stride=``, ``length=``, ``roi=``, ``units=``), or use
:func:`random_sampler` / :func:`grid_sampler`, which also translate a seed into the generator the
installed torchgeo expects. Sizes and strides are in pixels by default, regions of interest in the
dataset's CRS (metres).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Protocol

import torch
import torchgeo.samplers as _torchgeo_samplers
from shapely import Polygon
from torch.utils.data import Sampler
from torchgeo.datasets import GeoDataset
from torchgeo.samplers import Units

from terrasynth.core.errors import CorpusError

TORCHGEO_PATCH_SAMPLERS = hasattr(_torchgeo_samplers, "RandomPatchSampler")
"""True on torchgeo >= 0.10, which has the ``*PatchSampler`` names."""

if TORCHGEO_PATCH_SAMPLERS:  # torchgeo 0.8 (Python 3.11) lacks these names; 0.10 has them
    RandomPatchSampler = _torchgeo_samplers.RandomPatchSampler  # type: ignore[attr-defined, unused-ignore]
    GriddedPatchSampler = _torchgeo_samplers.GriddedPatchSampler  # type: ignore[attr-defined, unused-ignore]
else:
    RandomPatchSampler = _torchgeo_samplers.RandomGeoSampler
    GriddedPatchSampler = _torchgeo_samplers.GridGeoSampler


def random_sampler(
    dataset: GeoDataset,
    size: float | tuple[float, float],
    *,
    length: int | None = None,
    roi: Polygon | None = None,
    units: Units = Units.PIXELS,
    seed: int | None = None,
):
    """torchgeo's random sampler of ``size`` patches (pixels unless ``units``) for the installed version.

    ``seed`` seeds the sampler's own generator (a :class:`torch.Generator` on 0.8, numpy on 0.10).
    torchgeo 0.8 picks the tile from torch's global generator, so for fully repeatable draws
    there also call :func:`torch.manual_seed`.
    """
    generator: int | torch.Generator | None
    if TORCHGEO_PATCH_SAMPLERS:
        generator = seed
    else:
        generator = None if seed is None else torch.Generator().manual_seed(seed)
    return RandomPatchSampler(dataset, size=size, length=length, roi=roi, units=units, generator=generator)


def grid_sampler(
    dataset: GeoDataset,
    size: float | tuple[float, float],
    *,
    stride: float | tuple[float, float] | None = None,
    roi: Polygon | None = None,
    units: Units = Units.PIXELS,
):
    """torchgeo's grid sampler of ``size`` patches every ``stride`` (pixels unless ``units``)."""
    return GriddedPatchSampler(dataset, size=size, stride=stride, roi=roi, units=units)


class SizedSampler(Protocol):
    """A sampler that knows its length, as torchgeo's random and grid samplers do (torch's
    :class:`~torch.utils.data.Sampler` declares no ``__len__``)."""

    def __len__(self) -> int: ...

    def __iter__(self) -> Iterator: ...


class RegionSampler(Sampler):
    """Samples a :class:`~terrasynth.datasets.CorpusRegions` through one torchgeo sampler per region.

    Yields ``(region, query)`` keys, the query in that region's own CRS. With ``length`` the
    regions are drawn at random in proportion to their valid area and each draw takes the next
    query of that region's sampler (restarted when it runs out); without it, every region's
    sampler is run through once, region after region (e.g. a grid over the whole corpus).
    """

    def __init__(
        self,
        dataset,
        make_sampler: Callable[[GeoDataset], SizedSampler],
        *,
        length: int | None = None,
        generator: torch.Generator | None = None,
    ) -> None:
        """Build the per-region samplers.

        Args:
            dataset: a :class:`~terrasynth.datasets.CorpusRegions`.
            make_sampler: builds a torchgeo sampler for one region's dataset, e.g.
                ``lambda ds: random_sampler(ds, 256)``.
            length: number of draws per epoch (proportional sampling), or None to run every
                region's sampler once.
            generator: draws the regions.
        """
        self.names: Sequence[str] = list(dataset.datasets)
        self.samplers = {name: make_sampler(dataset.datasets[name]) for name in self.names}
        areas = [dataset.valid_area[name] if len(self.samplers[name]) else 0.0 for name in self.names]
        self.weights = torch.tensor(areas, dtype=torch.float64)
        if not self.weights.sum() > 0:
            raise CorpusError(
                "no region has valid area for this sampler: lower min_valid_fraction or the size"
            )
        self.length = length
        self.generator = generator

    def __len__(self) -> int:
        return self.length if self.length is not None else sum(len(s) for s in self.samplers.values())

    def __iter__(self) -> Iterator[tuple[str, tuple]]:
        if self.length is None:
            for name in self.names:
                for query in self.samplers[name]:
                    yield name, query
            return
        draws = torch.multinomial(self.weights, self.length, replacement=True, generator=self.generator)
        iterators: dict[str, Iterator] = {}
        for k in draws.tolist():
            name = self.names[k]
            try:
                query = next(iterators[name])
            except (KeyError, StopIteration):
                iterators[name] = iter(self.samplers[name])
                query = next(iterators[name])
            yield name, query
