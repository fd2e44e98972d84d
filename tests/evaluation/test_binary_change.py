import numpy as np
import pytest
import torch
from torchmetrics.classification import BinaryF1Score, BinaryJaccardIndex, BinaryPrecision, BinaryRecall

from terrasynth.evaluation.binary_change import BinaryChangeMetrics, binary_scores


def test_scores_from_hand_counted_confusion():
    # two 2x3 images; counted by hand: image a TP 2 FP 1 FN 0, image b TP 1 FP 0 FN 2
    probability = torch.tensor(
        [[[0.9, 0.8, 0.7], [0.1, 0.2, 0.3]], [[0.6, 0.1, 0.2], [0.4, 0.0, 0.0]]], dtype=torch.float32
    )
    mask = torch.tensor([[[1, 1, 0], [0, 0, 0]], [[1, 1, 1], [0, 0, 0]]])
    metrics = BinaryChangeMetrics(threshold=0.5)
    metrics.update(probability[:1], mask[:1], ["a"])
    metrics.update(probability[1:], mask[1:], ["b"])
    result = metrics.compute()
    tp, fp, fn = 3, 1, 2
    expected = {"precision": 3 / 4, "recall": 3 / 5, "f1": 2 * 0.75 * 0.6 / 1.35, "iou": 3 / 6}
    for name, value in expected.items():
        assert result["scores"].sel(metric=name).item() == pytest.approx(value)
    assert result["confusion"].values.tolist() == [[12 - tp - fp - fn, fp], [fn, tp]]
    assert result["image_f1"].sel(image="a").item() == pytest.approx(2 * 2 / (2 * 2 + 1))
    assert result["image_f1"].sel(image="b").item() == pytest.approx(2 * 1 / (2 * 1 + 2))


def test_one_confusion_matrix_not_a_mean_of_images_and_torchmetrics_agree():
    generator = torch.Generator().manual_seed(0)
    probability = torch.rand(5, 16, 16, generator=generator)
    mask = (torch.rand(5, 16, 16, generator=generator) < torch.linspace(0.05, 0.6, 5)[:, None, None]).long()
    metrics = BinaryChangeMetrics()
    for index in range(5):
        metrics.update(probability[index : index + 1], mask[index : index + 1])
    scores = metrics.compute()["scores"]
    reference = {
        "precision": BinaryPrecision(),
        "recall": BinaryRecall(),
        "f1": BinaryF1Score(),
        "iou": BinaryJaccardIndex(),
    }
    for name, metric in reference.items():
        expected = metric(probability.flatten(), mask.flatten()).item()
        assert scores.sel(metric=name).item() == pytest.approx(expected, rel=1e-6)
    per_image_mean = np.nanmean(metrics.compute()["image_f1"].values)
    assert scores.sel(metric="f1").item() != pytest.approx(per_image_mean, rel=1e-3)


def test_precision_recall_sweep_counts_probability_at_or_above_each_threshold():
    probability = torch.tensor([[[0.1, 0.4, 0.6, 0.9]]])
    mask = torch.tensor([[[0, 1, 0, 1]]])
    metrics = BinaryChangeMetrics(thresholds=[0.0, 0.5, 0.95])
    metrics.update(probability, mask)
    result = metrics.compute()
    assert result["pr_precision"].values.tolist() == pytest.approx([0.5, 0.5, np.nan], nan_ok=True)
    assert result["pr_recall"].values.tolist() == pytest.approx([1.0, 0.5, 0.0])
    assert result["pr_f1"].values.tolist() == pytest.approx([2 / 3, 0.5, 0.0])


def test_undefined_scores_are_nan():
    scores = binary_scores(0, 0, 0)
    assert all(np.isnan(v) for v in scores.values())
    metrics = BinaryChangeMetrics()
    metrics.update(torch.zeros(1, 4, 4), torch.zeros(1, 4, 4, dtype=torch.long), ["empty"])
    assert np.isnan(metrics.compute()["image_f1"].item())
