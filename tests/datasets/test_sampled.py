import torch

from terrasynth.datasets import CorpusDataset, CorpusRegions, RegionSampler, SampledDataset, grid_sampler


def test_items_are_the_samplers_queries_in_order(corpus):
    dataset = CorpusDataset(corpus, "16m", tile_size=16, min_valid_fraction=0.0)
    sampler = grid_sampler(dataset, 16, stride=16)
    view = SampledDataset(dataset, sampler)
    queries = list(sampler)
    assert len(view) == len(queries) > 1
    for index in (0, len(view) - 1):
        sample = view[index]
        assert torch.equal(sample["image"], dataset[queries[index]]["image"])
        assert sample["gsd"] == torch.tensor(16.0) and sample["image"].shape[-2:] == (16, 16)


def test_views_over_every_region(two_region_corpus):
    regions = CorpusRegions.from_corpus(two_region_corpus, "16m", tile_size=16, min_valid_fraction=0.0)
    view = SampledDataset(regions, RegionSampler(regions, lambda ds: grid_sampler(ds, 16, stride=16)))
    crs = {view[i]["crs"].to_epsg() for i in range(len(view))}
    assert crs == {32632, 32633}
