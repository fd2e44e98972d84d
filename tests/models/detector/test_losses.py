import pytest
import torch

from terrasynth.models.detector import balanced_positive_weight, change_loss, semantic_loss


def test_change_loss_is_bce_plus_the_change_class_dice():
    logits = torch.tensor([[[[2.0, -1.0], [0.0, 3.0]]]])
    mask = torch.tensor([[[1, 0], [1, 0]]])
    p = logits.sigmoid()[0, 0]
    bce = torch.nn.functional.binary_cross_entropy(p, mask[0].float())
    dice = 1 - 2 * (p * mask[0]).sum() / (p.sum() + mask[0].sum())
    assert change_loss(logits, mask).item() == pytest.approx((bce + dice).item(), rel=1e-5)
    assert change_loss(logits, mask, dice_weight=0).item() == pytest.approx(bce.item(), rel=1e-5)


def test_changed_pixels_weigh_positive_weight_in_the_cross_entropy():
    logits = torch.tensor([[[[2.0, -1.0], [0.0, 3.0]]]])
    mask = torch.tensor([[[1, 0], [1, 0]]])
    p = logits.sigmoid()[0, 0]
    changed, unchanged = -p.log() * mask[0], -(1 - p).log() * (1 - mask[0])
    weighted = (4 * changed + unchanged).mean()
    assert change_loss(logits, mask, dice_weight=0, positive_weight=4).item() == pytest.approx(
        weighted.item()
    )


@pytest.mark.parametrize(
    ("fraction", "balance", "weight"),
    [(0.2, 1, 4.0), (0.2, 0.5, 2.0), (0.2, 0, 1.0), (0.0, 1, 1.0), (1.0, 1, 1.0)],
)
def test_the_positive_weight_balances_the_changed_share(fraction, balance, weight):
    assert balanced_positive_weight(fraction, balance) == pytest.approx(weight)


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
