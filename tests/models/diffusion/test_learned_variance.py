"""Learned variances: ancestral steps and the hybrid loss against improved DDPM's formulas, written
out here in float64 from the paper (Nichol & Dhariwal 2021, eqs. 9-15, respacing of section 4)."""

import itertools
import math

import numpy as np
import pytest
import torch

from terrasynth.core.errors import ConfigError
from terrasynth.models.diffusion import AncestralSampler, NoiseSchedule, hybrid_loss
from terrasynth.models.diffusion.learned_variance import respaced_timesteps


def improved_ddpm_step(x_t, eps, v, t, t_prev, noise):
    """x_{t-1} of improved DDPM from ``x_t`` at timestep ``t`` to ``t_prev`` (-1: the clean image),
    DiT's linear betas, in float64."""
    betas = np.linspace(1e-4, 0.02, 1000, dtype=np.float64)
    a_bar = np.cumprod(1 - betas)
    a, a_prev = a_bar[t], (a_bar[t_prev] if t_prev >= 0 else 1.0)
    beta = 1 - a / a_prev
    x0 = np.sqrt(1 / a) * x_t - np.sqrt(1 / a - 1) * eps
    mean = beta * np.sqrt(a_prev) / (1 - a) * x0 + (1 - a_prev) * np.sqrt(1 - beta) / (1 - a) * x_t
    if t_prev < 0:
        return mean
    frac = (v + 1) / 2
    log_variance = frac * np.log(beta) + (1 - frac) * np.log(beta * (1 - a_prev) / (1 - a))
    return mean + np.exp(0.5 * log_variance) * noise


def test_dit_schedule_is_linear_betas_from_1e4_to_002_with_a_learned_variance():
    schedule = NoiseSchedule.dit()
    assert (schedule.kind, schedule.beta_start, schedule.beta_end) == ("linear", 1e-4, 0.02)
    assert schedule.learned_variance and schedule.num_train_timesteps == 1000
    assert NoiseSchedule.from_dict(schedule.to_dict()) == schedule
    assert schedule.betas[[0, -1]].tolist() == pytest.approx([1e-4, 0.02])
    with pytest.raises(ConfigError, match="noise prediction"):
        NoiseSchedule("linear", prediction_type="sample", variance_type="learned_range")


def test_respacing_takes_evenly_spaced_timesteps_from_0_to_999():
    assert respaced_timesteps(1000, 4).tolist() == [0, 333, 666, 999]
    assert AncestralSampler(NoiseSchedule.dit(), 4).timesteps == [999, 666, 333, 0]


def test_each_ancestral_step_is_improved_ddpm():
    sampler = AncestralSampler(NoiseSchedule.dit(), 4)
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(2, 4, 3, 3, generator=generator)
    chain = [*sampler.timesteps, -1]
    for t, t_prev in itertools.pairwise(chain):
        output = torch.randn(2, 8, 3, 3, generator=generator)
        output[:, 4:] = output[:, 4:].tanh()  # v in [-1, 1]
        noise = torch.randn(2, 4, 3, 3, generator=generator)
        ours = sampler.step(output, t, x, noise=noise)
        eps, v = output.double().chunk(2, dim=1)
        expected = improved_ddpm_step(
            x.double().numpy(), eps.numpy(), v.numpy(), t, t_prev, noise.double().numpy()
        )
        np.testing.assert_allclose(ours.numpy(), expected, rtol=1e-5, atol=1e-6)
        x = ours


def test_the_hybrid_loss_is_the_noise_mse_plus_the_vlb_which_trains_the_variance_only():
    schedule = NoiseSchedule.dit()
    x0 = torch.rand(2, 3, 4, 4) * 2 - 1
    output = torch.randn(2, 6, 4, 4, requires_grad=True)
    loss = hybrid_loss(lambda x, t: output, x0, schedule, generator=torch.Generator().manual_seed(1))
    (gradient,) = torch.autograd.grad(loss, output)
    generator = torch.Generator().manual_seed(1)
    t = torch.randint(0, 1000, (2,), generator=generator)
    noise = torch.randn(x0.shape, generator=generator)
    mse = (output[:, :3] - noise).square().mean()
    (mse_gradient,) = torch.autograd.grad(mse, output)
    torch.testing.assert_close(gradient[:, :3], mse_gradient[:, :3])  # the VLB leaves the mean alone
    assert gradient[:, 3:].abs().sum() > 0 and loss.item() > mse.item()
    assert t.min() > 0  # these draws test the KL term; t = 0 uses the decoder likelihood
    with pytest.raises(ConfigError, match="learned_range"):
        hybrid_loss(lambda x, t: output, x0, NoiseSchedule())


def test_the_vlb_is_zero_when_the_model_predicts_the_true_noise_and_posterior_variance():
    schedule = NoiseSchedule.dit()
    x0 = torch.rand(1, 2, 3, 3) * 2 - 1
    generator = torch.Generator().manual_seed(3)
    t = torch.randint(0, 1000, (1,), generator=generator)
    noise = torch.randn(x0.shape, generator=generator)
    perfect = torch.cat([noise, torch.full_like(noise, -1.0)], dim=1)  # v = -1: the posterior variance
    loss = hybrid_loss(lambda x, t: perfect, x0, schedule, generator=torch.Generator().manual_seed(3))
    assert t.item() > 0 and math.isclose(loss.item(), 0.0, abs_tol=1e-4)
