import pytest
import torch

from terrasynth.models.diffusion import NoiseSchedule, diffusion_loss, epsilon_loss, min_snr_weight, p2_weight


def test_loss_is_p2_weighted_mse_of_the_noise_over_valid_pixels():
    schedule = NoiseSchedule()
    x0 = torch.rand(4, 2, 6, 6) * 2 - 1
    valid = torch.ones(4, 6, 6, dtype=torch.bool)
    valid[:, :, 3:] = False
    seen = {}

    def denoiser(x_t, t, *, bias):
        seen["t"], seen["x_t"] = t, x_t
        out = torch.zeros_like(x_t)
        out[..., 3:] = 100.0  # wrong only where invalid
        return out + bias

    loss = epsilon_loss(
        denoiser, x0, schedule, valid=valid, p2_k=1.0, p2_gamma=1.0, generator=torch.Generator().manual_seed(0),
        bias=0.0,
    )  # fmt: skip
    g = torch.Generator().manual_seed(0)
    t = torch.randint(0, 1000, (4,), generator=g)
    noise = torch.randn(x0.shape, generator=g)
    assert torch.equal(seen["t"], t)
    torch.testing.assert_close(seen["x_t"], schedule.add_noise(x0, noise, t))
    per_sample = noise[..., :3].square().mean(dim=(1, 2, 3))
    torch.testing.assert_close(loss, (p2_weight(schedule.snr(t), 1.0, 1.0) * per_sample).mean())


@pytest.mark.parametrize("prediction_type", ["sample", "v_prediction"])
def test_a_perfect_model_of_any_prediction_type_has_zero_loss(prediction_type):
    schedule = NoiseSchedule(prediction_type=prediction_type)
    x0 = torch.rand(3, 2, 4, 4) * 2 - 1

    def oracle(x_t, t):  # knows x0, so its prediction is exact: the target of its type
        a = schedule.alphas_cumprod[t].view(-1, 1, 1, 1)
        return schedule.target(x0, (x_t - a.sqrt() * x0) / (1 - a).sqrt(), t)

    loss = diffusion_loss(oracle, x0, schedule, snr_gamma=5.0, generator=torch.Generator().manual_seed(0))
    assert loss.item() == pytest.approx(0.0, abs=1e-6)
    if prediction_type == "v_prediction":  # v = sqrt(a) eps - sqrt(1 - a) x0
        t, eps = torch.tensor([10, 900]), torch.randn(2, 2, 4, 4)
        a = schedule.alphas_cumprod[t].view(-1, 1, 1, 1)
        torch.testing.assert_close(schedule.target(x0[:2], eps, t), a.sqrt() * eps - (1 - a).sqrt() * x0[:2])


def test_min_snr_weights_every_prediction_type_as_min_snr_gamma_on_the_clean_image():
    snr = torch.tensor([0.01, 1.0, 5.0, 100.0])
    clipped = torch.tensor([0.01, 1.0, 5.0, 5.0])
    # the squared error of a noise prediction is SNR times that of x0, a velocity's SNR + 1 times
    torch.testing.assert_close(min_snr_weight(snr, 5.0, "sample"), clipped)
    torch.testing.assert_close(min_snr_weight(snr, 5.0, "epsilon") * snr, clipped)
    torch.testing.assert_close(min_snr_weight(snr, 5.0, "v_prediction") * (snr + 1), clipped)
