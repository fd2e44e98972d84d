import pytest
import torch

from terrasynth.datasets.masked_samples import MaskedSamples
from terrasynth.models.changen2 import MaskEncoding


@pytest.fixture(scope="module")
def make_samples(generators):
    return generators("changen2", "make_samples.py")


def test_masks_of_each_kind_come_from_the_corpus_sample(make_samples):
    tiles = make_samples.MaskedTiles(1, 32)
    landcover = tiles[0]["landcover"]
    for kind, expected in (("landcover", landcover), ("buildings", (landcover == 250).long())):  # footprints
        encoding = MaskEncoding.for_kind(kind, boundary=True, pseudo_classes=8)
        assert torch.equal(MaskedSamples(tiles, encoding)[0]["mask"], expected)
    pseudo = MaskedSamples(tiles, MaskEncoding.for_kind("pseudo", boundary=True, pseudo_classes=3))
    mask = pseudo[0]["mask"]
    assert mask.shape == (32, 32) and set(mask.unique().tolist()) <= {1, 2, 3}
    assert torch.equal(mask, pseudo[0]["mask"])  # seeded by (seed, index)
