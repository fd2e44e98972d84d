"""Any model giving change probabilities, scored on a data set of change pairs."""

import numpy as np
import pytest
import torch
import xarray as xr

from terrasynth.evaluation import BinaryChangeMetrics, SlidingWindowDetector, evaluate_change_detection
from terrasynth.models.detector import ChangeDetector


def _pairs(semantic=False):
    generator = torch.Generator().manual_seed(0)
    pairs = []
    for index, size in enumerate((16, 24)):  # full-size pairs differ in size
        image = torch.rand(2, 3, size, size, generator=generator)
        sample = {"image": image, "mask": (image[1, 0] > image[0, 0]).long(), "name": f"pair{index}"}
        if semantic:
            sample["semantic"] = torch.randint(1, 7, (2, size, size), generator=generator) * sample["mask"]
        pairs.append(sample)
    return pairs


def _difference(images: torch.Tensor) -> torch.Tensor:
    """Change probability: how much the first band grew, in [0, 1]."""
    return ((images[:, 1, 0] - images[:, 0, 0]) * 4).clamp(0, 1)


def test_a_function_of_probabilities_is_scored_as_the_metric_counts_it():
    pairs, shown = _pairs(), []
    results = evaluate_change_detection(_difference, pairs, thresholds=11, on_prediction=shown.append)
    expected = BinaryChangeMetrics(thresholds=11)
    for sample in pairs:
        expected.update(_difference(sample["image"][None]), sample["mask"][None], [sample["name"]])
    xr.testing.assert_equal(results, expected.compute())
    assert [example["name"] for example in shown] == ["pair0", "pair1"]
    assert torch.equal(shown[1]["prediction"], _difference(pairs[1]["image"][None])[0] > 0.5)


class _SemanticModel(torch.nn.Module):
    """A module on the GPU or CPU giving probabilities and SECOND values."""

    def __init__(self):
        super().__init__()
        self.scale = torch.nn.Parameter(torch.ones(()))

    def forward(self, images):
        values = torch.full((len(images), 2, *images.shape[-2:]), 5, device=images.device)
        return {"change": _difference(images) * self.scale, "semantic": values}


def test_semantic_scores_come_with_semantic_labels_and_values():
    results = evaluate_change_detection(_SemanticModel(), _pairs(semantic=True), thresholds=5)
    assert results["semantic_scores"].dims == ("variant", "semantic_metric")
    assert "semantic_scores" not in evaluate_change_detection(_SemanticModel(), _pairs(), thresholds=5)


def test_a_detector_in_sliding_windows_gives_probabilities_and_second_values():
    torch.manual_seed(0)
    detector = ChangeDetector(encoder="resnet18", decoder_channels=8, semantic_classes=6)
    model = SlidingWindowDetector(detector.eval(), window=16, overlap=0.5)
    outputs = model(torch.rand(1, 2, 3, 24, 24))
    assert (
        outputs["change"].shape == (1, 24, 24)
        and 0 <= outputs["change"].min() <= outputs["change"].max() <= 1
    )
    assert outputs["semantic"].shape == (1, 2, 24, 24)
    assert set(np.unique(outputs["semantic"].numpy())) <= set(range(1, 7))
    results = evaluate_change_detection(model, _pairs(semantic=True), thresholds=5)
    assert np.isfinite(results["semantic_scores"].sel(semantic_metric="miou")).all()
    with pytest.raises(ValueError, match="no predictions"):
        evaluate_change_detection(model, [])
