import pytest
import torch
import torchgeo.samplers

from terrasynth.core import CorpusError
from terrasynth.datasets import (
    CorpusDataset,
    CorpusRegions,
    GriddedPatchSampler,
    RandomPatchSampler,
    RegionSampler,
    grid_sampler,
    random_sampler,
)
from terrasynth.datasets.samplers import TORCHGEO_PATCH_SAMPLERS


def test_sampler_names_follow_the_installed_torchgeo(corpus):
    if TORCHGEO_PATCH_SAMPLERS:
        assert RandomPatchSampler is torchgeo.samplers.RandomPatchSampler
        assert GriddedPatchSampler is torchgeo.samplers.GriddedPatchSampler
    else:
        assert RandomPatchSampler is torchgeo.samplers.RandomGeoSampler
        assert GriddedPatchSampler is torchgeo.samplers.GridGeoSampler
    ds = CorpusDataset(corpus, "16m", min_valid_fraction=0.0)
    assert isinstance(grid_sampler(ds, 32), GriddedPatchSampler)
    assert isinstance(random_sampler(ds, 32, length=3), RandomPatchSampler)


def test_random_sampler_is_repeatable_from_its_seed(corpus):
    ds = CorpusDataset(corpus, "16m", min_valid_fraction=0.0)

    def draws(seed):
        torch.manual_seed(0)  # torchgeo 0.8 picks the tile with torch's global generator
        return [(q[0].start, q[1].start) for q in random_sampler(ds, 8, length=10, seed=seed)]

    assert draws(1) == draws(1) and draws(1) != draws(2)


def test_regions_keep_their_own_crs(two_region_corpus):
    regions = CorpusRegions.from_corpus(two_region_corpus, "16m", min_valid_fraction=0.0)
    assert sorted(regions.datasets) == ["r00_utm32n", "r01_utm33n"]
    crs = {name: str(ds.crs) for name, ds in regions.datasets.items()}
    assert crs == {"r00_utm32n": "EPSG:32632", "r01_utm33n": "EPSG:32633"}
    sampler = RegionSampler(regions, lambda ds: grid_sampler(ds, 32))
    keys = list(sampler)
    assert len(keys) == len(sampler) == len(regions)  # every tile of every region, once
    for name, query in keys:
        sample = regions[name, query]
        assert str(sample["crs"]) == crs[name] and sample["image"].shape == (4, 32, 32)


def test_regions_are_drawn_in_proportion_to_valid_area(two_region_corpus):
    regions = CorpusRegions.from_corpus(two_region_corpus, "16m", min_valid_fraction=0.0)
    area = regions.valid_area
    expected = area["r00_utm32n"] / sum(area.values())
    tiles = len(regions.datasets["r00_utm32n"]) / len(regions)
    assert abs(expected - 0.5) > 0.05 and abs(expected - tiles) > 0.05  # neither even nor by tile count
    sampler = RegionSampler(
        regions, lambda ds: random_sampler(ds, 16), length=4000, generator=torch.Generator().manual_seed(0)
    )
    names = [name for name, _ in sampler]
    share = names.count("r00_utm32n") / len(names)
    assert share == pytest.approx(expected, abs=0.025)


def test_region_without_valid_tiles_is_left_out(two_region_corpus):
    with pytest.raises(CorpusError, match="no region"):
        CorpusRegions.from_corpus(two_region_corpus, "16m", min_valid_fraction=1.0)
