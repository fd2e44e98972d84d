import importlib.util
import math
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from terrasynth.core.errors import CorpusError
from terrasynth.evaluation.semantic_change import (
    SEMANTIC_METRICS,
    SemanticChangeMetrics,
    confusion,
    from_to_map,
    second_maps,
    second_scores,
)


def worked_example() -> SemanticChangeMetrics:
    """Four pixels (one row); see the hand computation in the test below."""
    metrics = SemanticChangeMetrics()
    metrics.update(
        predicted_change=torch.tensor([[[1, 0, 1, 0]]]),
        predicted_semantic=torch.tensor([[[[2, 1, 4, 1]], [[6, 1, 5, 1]]]]),
        true_change=torch.tensor([[[1, 1, 0, 0]]]),
        true_semantic=torch.tensor([[[[2, 5, 0, 0]], [[5, 3, 0, 0]]]]),
    )
    return metrics


def test_official_variant_equals_the_formulas_on_a_worked_example():
    # Stacked (predicted, true) value pairs: t1 (2,2) (0,5) (4,0) (0,0); t2 (6,5) (0,3) (5,0) (0,0).
    # Collapsed to change/no change: 2 in each cell, so IoU_nc = IoU_c = 2 / 6.
    # Q' (Q[0,0] = 0) holds 6 pixels, 1 on the diagonal: p_o = 1/6; rows x columns sum to 7: p_e = 7/36.
    # Right changed classes: 1 of 4 predicted and of 4 true changes.
    scores = worked_example().compute()["semantic_scores"].sel(variant="official")
    kappa = (1 / 6 - 7 / 36) / (1 - 7 / 36)
    sek = kappa * math.exp(1 / 3 - 1)
    expected = {
        "iou_nc": 1 / 3, "iou_c": 1 / 3, "miou": 1 / 3, "kappa": kappa, "sek": sek,
        "score": 0.3 / 3 + 0.7 * sek, "p_scd": 0.25, "r_scd": 0.25, "f_scd": 0.25,
    }  # fmt: skip
    for name, value in expected.items():
        assert scores.sel(semantic_metric=name).item() == pytest.approx(value), name


def test_torchange_variant_on_the_worked_example():
    # From-to classes: true 2->5 = 11, 5->3 = 27; predicted 2->6 = 12, 4->5 = 23.
    # Q' has 3 pixels, none on the diagonal; only row 0 x column 0 overlap: p_e = 1/9, kappa = -1/8.
    scores = worked_example().compute()["semantic_scores"].sel(variant="torchange-37")
    assert scores.sel(semantic_metric="iou_c").item() == pytest.approx(1 / 3)
    assert scores.sel(semantic_metric="kappa").item() == pytest.approx(-1 / 8)
    assert scores.sel(semantic_metric="sek").item() == pytest.approx(-1 / 8 * math.exp(-2 / 3))
    assert scores.sel(semantic_metric="f_scd").item() == 0.0


def test_from_to_codes():
    maps = torch.tensor([[[[1, 6, 0]], [[1, 2, 0]]]])
    assert from_to_map(maps).tolist() == [[[1, 5 * 6 + 1 + 1, 0]]]


def test_changed_pixels_need_classes():
    with pytest.raises(CorpusError, match="changed pixels need SECOND values 1-6"):
        second_maps(torch.tensor([[[1]]]), torch.tensor([[[[0]], [[3]]]]))


def _torchange_second():
    """torchange's SECOND metric module, loaded from its file (its package __init__ pulls in
    Hugging Face datasets, which the repository's own datasets/ folder can shadow)."""
    spec = importlib.util.find_spec("torchange")
    if spec is None:
        pytest.skip("torchange (dev dependency) is not installed")
    path = Path(spec.origin).parent / "metrics" / "second.py"
    module_spec = importlib.util.spec_from_file_location("torchange_second", path)
    module = importlib.util.module_from_spec(module_spec)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        module_spec.loader.exec_module(module)
    return module


def test_both_variants_agree_with_torchange_on_random_maps():
    reference = _torchange_second()
    rng = np.random.default_rng(0)
    batch, size = 3, 24
    true_change = rng.random((batch, size, size)) < 0.3
    predicted_change = true_change ^ (rng.random((batch, size, size)) < 0.2)
    true_semantic = rng.integers(1, 7, (batch, 2, size, size))
    predicted_semantic = np.where(
        rng.random((batch, 2, size, size)) < 0.6, true_semantic, rng.integers(1, 7, (batch, 2, size, size))
    )
    ours = SemanticChangeMetrics()
    ours.update(
        *(torch.from_numpy(a) for a in (predicted_change, predicted_semantic, true_change, true_semantic))
    )
    result = ours.compute()["semantic_scores"]

    # official: Bi-SRNet's histogram of the stacked t1/t2 value maps, scored by the same summary
    official_pred = np.where(predicted_change[:, None], predicted_semantic, 0)
    official_true = np.where(true_change[:, None], true_semantic, 0)
    hist7 = reference.get_hist(official_pred, official_true, 7)
    # torchange-37: its own from-to coding s1 * 6 + s2 + 1 of 0-based classes, where changed
    pr_sc = np.where(
        predicted_change, (predicted_semantic[:, 0] - 1) * 6 + predicted_semantic[:, 1] - 1 + 1, 0
    )
    gt_sc = np.where(true_change, (true_semantic[:, 0] - 1) * 6 + true_semantic[:, 1] - 1 + 1, 0)
    hist37 = reference.get_hist(pr_sc, gt_sc, 37)
    assert np.array_equal(hist37, confusion(pr_sc, gt_sc, 37))
    for variant, hist in (("official", hist7), ("torchange-37", hist37)):
        theirs = reference.score_summary(hist)
        ours_variant = result.sel(variant=variant)
        for our_name, their_name in (
            ("kappa", "SECOND/kappa"), ("miou", "SECOND/mIoU"), ("sek", "SECOND/Sek"),
            ("score", "SECOND/Score"), ("iou_c", "SECOND/IoU_1"),
        ):  # fmt: skip
            assert ours_variant.sel(semantic_metric=our_name).item() == pytest.approx(theirs[their_name]), (
                variant,
                our_name,
            )
    assert list(result["semantic_metric"].values) == list(SEMANTIC_METRICS)


def test_scores_of_a_perfect_prediction():
    q = np.diag([50, 3, 4, 0, 0, 2, 1])
    scores = second_scores(q)
    assert scores["miou"] == scores["kappa"] == scores["sek"] == scores["score"] == scores["f_scd"] == 1.0
