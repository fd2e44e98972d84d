import numpy as np
import pytest
import torch

from terrasynth.core.errors import ConfigError
from terrasynth.models.diffusion import NoiseSchedule, p2_weight


def betas_of(schedule):
    a = schedule.alphas_cumprod.double().numpy()
    return 1 - a / np.concatenate([[1.0], a[:-1]])


def test_scaled_linear_is_metaearths_linear():
    # REFERENCE: "linear" in MetaEarth / latent diffusion = linspace(sqrt(0.0015), sqrt(0.0155))^2
    schedule = NoiseSchedule("scaled_linear")
    expected = np.linspace(0.0015**0.5, 0.0155**0.5, 1000) ** 2
    np.testing.assert_allclose(betas_of(schedule), expected, rtol=1e-4)


def test_linear_is_a_plain_linspace():
    schedule = NoiseSchedule("linear")
    np.testing.assert_allclose(betas_of(schedule), np.linspace(0.0015, 0.0155, 1000), rtol=1e-4)


def test_snr_and_add_noise_follow_the_cumulative_alphas():
    schedule = NoiseSchedule()
    t = torch.tensor([0, 499, 999])
    a = torch.cumprod(1 - torch.linspace(0.0015**0.5, 0.0155**0.5, 1000, dtype=torch.float64) ** 2, 0)[t]
    torch.testing.assert_close(schedule.snr(t).double(), a / (1 - a), rtol=1e-4, atol=0)
    x0, noise = torch.ones(3, 1, 2, 2), torch.full((3, 1, 2, 2), 2.0)
    expected = (a.sqrt() + 2 * (1 - a).sqrt()).float().view(3, 1, 1, 1).expand(3, 1, 2, 2)
    torch.testing.assert_close(schedule.add_noise(x0, noise, t), expected, rtol=1e-5, atol=1e-6)


def test_p2_weight_formula():
    snr = torch.tensor([0.01, 1.0, 100.0])
    torch.testing.assert_close(p2_weight(snr, k=1.0, gamma=1.0), 1 / (1 + snr))
    torch.testing.assert_close(p2_weight(snr, k=2.0, gamma=0.5), (2 + snr) ** -0.5)
    torch.testing.assert_close(p2_weight(snr, gamma=0.0), torch.ones(3))


def test_schedule_round_trips_and_rejects_nonsense():
    schedule = NoiseSchedule("linear", 0.001, 0.02, 500)
    assert NoiseSchedule.from_dict(schedule.to_dict()) == schedule
    with pytest.raises(ConfigError, match="cosine"):
        NoiseSchedule("cosine")
    with pytest.raises(ConfigError, match="beta_start < beta_end"):
        NoiseSchedule(beta_start=0.02, beta_end=0.01)
    with pytest.raises(ConfigError, match="prediction type 'x0'"):
        NoiseSchedule(prediction_type="x0")
    velocity = NoiseSchedule(prediction_type="v_prediction")
    assert NoiseSchedule.from_dict(velocity.to_dict()) == velocity
    assert velocity.ddim_scheduler().config.prediction_type == "v_prediction"


@pytest.mark.parametrize("prediction_type", ["epsilon", "sample", "v_prediction"])
def test_each_prediction_type_implies_the_clean_image(prediction_type):
    schedule = NoiseSchedule(prediction_type=prediction_type)
    g = torch.Generator().manual_seed(0)
    x0, noise = torch.rand(2, 3, 4, 4, generator=g), torch.randn(2, 3, 4, 4, generator=g)
    for t in (10, 500, 990):
        steps = torch.full((2,), t)
        x_t = schedule.add_noise(x0, noise, steps)
        implied = schedule.predicted_sample(schedule.target(x0, noise, steps), x_t, t)
        torch.testing.assert_close(implied, x0, rtol=0, atol=2e-4)
