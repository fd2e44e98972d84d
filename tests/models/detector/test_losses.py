import pytest
import torch

from terrasynth.models.detector import change_loss, semantic_loss


def test_change_loss_is_bce_plus_the_change_class_dice():
    logits = torch.tensor([[[[2.0, -1.0], [0.0, 3.0]]]])
    mask = torch.tensor([[[1, 0], [1, 0]]])
    p = logits.sigmoid()[0, 0]
    bce = torch.nn.functional.binary_cross_entropy(p, mask[0].float())
    dice = 1 - 2 * (p * mask[0]).sum() / (p.sum() + mask[0].sum())
    assert change_loss(logits, mask).item() == pytest.approx((bce + dice).item(), rel=1e-5)
    assert change_loss(logits, mask, dice_weight=0).item() == pytest.approx(bce.item(), rel=1e-5)


def test_confident_right_answers_cost_almost_nothing():
    mask = torch.tensor([[[1, 0], [0, 1]]])
    logits = (mask.float() * 2 - 1)[:, None] * 20
    assert change_loss(logits, mask).item() < 1e-6


def test_semantic_loss_ignores_unlabelled_pixels():
    semantic = torch.tensor([[[[0, 2]], [[0, 1]]]])  # (B=1, 2 dates, 1, 2)
    logits = torch.zeros(1, 2, 3, 1, 2)
    logits[0, 0, 1, 0, 1] = logits[0, 1, 0, 0, 1] = 30.0  # right where labelled
    logits[0, :, 2, 0, 0] = 30.0  # wrong where unlabelled: must not count
    assert semantic_loss(logits, semantic).item() < 1e-6
    assert semantic_loss(logits, torch.zeros_like(semantic)).item() == 0.0
