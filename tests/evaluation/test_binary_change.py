import numpy as np
import pytest
import torch
from torchmetrics.classification import (
    BinaryF1Score,
    BinaryJaccardIndex,
    BinaryPrecision,
    BinaryPrecisionRecallCurve,
    BinaryRecall,
)

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


def _halves():
    generator = torch.Generator().manual_seed(1)
    probability = torch.rand(6, 12, 12, generator=generator)
    mask = (torch.rand(6, 12, 12, generator=generator) < 0.3).long()
    return probability, mask, [f"image{i}" for i in range(6)]


def test_sweep_counts_as_torchmetrics_precision_recall_curve():
    probability, mask, _ = _halves()
    metrics = BinaryChangeMetrics(thresholds=11)
    metrics.update(probability, mask)
    curve = BinaryPrecisionRecallCurve(thresholds=11)
    curve.update(probability.flatten(), mask.flatten())
    assert torch.equal(metrics.sweep, curve.confmat)


def test_metrics_of_two_halves_merged_equal_the_metrics_of_the_whole_set():
    probability, mask, names = _halves()
    whole, first, second = BinaryChangeMetrics(), BinaryChangeMetrics(), BinaryChangeMetrics()
    whole.update(probability, mask, names)
    first.update(probability[:3], mask[:3], names[:3])
    second.update(probability[3:], mask[3:], names[3:])
    first.merge_state(second)
    expected, merged = whole.compute(), first.compute().sortby("image")
    for name in ("scores", "confusion", "pr_precision", "pr_recall", "pr_f1", "image_f1"):
        np.testing.assert_array_equal(merged[name].values, expected[name].values)
    assert merged["image"].values.tolist() == names


def test_states_gathered_from_another_process_add_up_to_the_whole_set():
    probability, mask, names = _halves()
    whole, part = BinaryChangeMetrics(), BinaryChangeMetrics()
    whole.update(probability, mask, names)
    part.update(probability[:3], mask[:3], names[:3])
    other = BinaryChangeMetrics()
    other.update(probability[3:], mask[3:], names[3:])
    # what a DDP sync does: each state reduced over the processes' states
    part.merge_state({name: getattr(other, name) for name in ("confusion", "sweep", "image_counts")})
    synced = part.compute()
    np.testing.assert_array_equal(synced["confusion"].values, whole.compute()["confusion"].values)
    np.testing.assert_array_equal(synced["pr_f1"].values, whole.compute()["pr_f1"].values)
    assert len(synced["image"]) == 6  # names of the other process are unknown here: images numbered
