"""The import rule of the data layer: datasets feed the models and import none of them (DESIGN.md's
flow, source -> datasets -> models); what they need of a model is a structural type
(:mod:`terrasynth.datasets.changen2_inputs`)."""

from pathlib import Path

import torch

DATASETS = Path(__file__).resolve().parents[2] / "datasets"


def test_datasets_import_no_models_or_workflows(import_rule):
    assert not import_rule(DATASETS, ("terrasynth.models", "terrasynth.workflows"))


def test_an_encoding_draws_the_pseudo_masks_of_its_classes():
    """What MaskedSamples and ImageFolderTiles call in place of importing the k-means."""
    from terrasynth.models.changen2 import MaskEncoding, pseudo_mask

    encoding = MaskEncoding.for_kind("pseudo", pseudo_classes=3)
    image = torch.rand(3, 16, 16, generator=torch.Generator().manual_seed(0))
    drawn = encoding.pseudo_mask(image, generator=torch.Generator().manual_seed(1))
    assert torch.equal(drawn, pseudo_mask(image, 3, generator=torch.Generator().manual_seed(1)))
