import pytest
import torch

from terrasynth.trainers.ema import warmup_ema


def test_ema_warms_up_then_holds_its_decay():
    average = warmup_ema(0.999)
    one, zero = torch.ones(3), torch.zeros(3)
    # after 1 update the weight of the average is (1 + 1) / (10 + 1); after 10 000 it is the decay
    assert average(one, zero, torch.tensor(1)).tolist() == pytest.approx([2 / 11] * 3)
    assert average(one, zero, torch.tensor(10_000)).tolist() == pytest.approx([0.999] * 3)
    # 60 steps of a short run already leave the initial weights behind
    averaged = one.clone()
    for n in range(1, 61):
        averaged = average(averaged, zero, torch.tensor(n))
    assert float(averaged[0]) < 0.01
