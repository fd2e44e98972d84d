import torch

from terrasynth.models.diffusion import NoiseSchedule, epsilon_loss, p2_weight


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
