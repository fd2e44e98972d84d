"""Learned variances (improved DDPM, Nichol & Dhariwal 2021), as DiT and the released Changen2
RS-DiT use them: the model predicts the noise in its first half of channels and, in the second,
``v`` in [-1, 1], which sets the log variance of each reverse step between the log posterior
variance (``v = -1``) and log beta (``v = 1``).

- :class:`Posterior`: the forward process' posterior ``q(x_{t-1} | x_t, x_0)`` over a chain of
  timesteps (every training step, or a respaced subset for sampling), in float64 as improved DDPM
  computes it, and the model's reverse step ``p(x_{t-1} | x_t)``.
- :class:`AncestralSampler`: ancestral sampling over evenly respaced timesteps with the learned
  variance, with the single-step interface of :class:`~terrasynth.models.diffusion.DiffusionSampler`.
- :func:`hybrid_loss`: the hybrid objective, the noise's mean squared error plus ``vlb_weight`` times
  the variational bound's term of the drawn timestep (scaled by the number of steps), the mean
  held fixed in that term so that it trains the variance only.
"""

from __future__ import annotations

import math

import torch

from terrasynth.core.errors import ConfigError
from terrasynth.models.diffusion.schedule import NoiseSchedule


class Posterior:
    """``q(x_{t-1} | x_t, x_0)`` along ``timesteps`` (ascending training steps; the step before the
    first is the clean image) and the model's reverse step with a learned variance."""

    def __init__(self, schedule: NoiseSchedule, timesteps: torch.Tensor):
        self.timesteps = timesteps.long()
        a = torch.cumprod(1 - schedule.betas, 0)[self.timesteps]
        a_prev = torch.cat([a.new_ones(1), a[:-1]])
        self.betas = 1 - a / a_prev
        self.variance = self.betas * (1 - a_prev) / (1 - a)
        first = self.variance[1:2] if len(a) > 1 else self.betas[:1]  # the first step's is 0: clipped
        self.log_variance = torch.log(torch.cat([first, self.variance[1:]]))
        self.coef_x0 = self.betas * a_prev.sqrt() / (1 - a)
        self.coef_xt = (1 - a_prev) * (1 - self.betas).sqrt() / (1 - a)
        self.recip_a, self.recipm1_a = (1 / a).sqrt(), (1 / a - 1).sqrt()

    @staticmethod
    def _at(values: torch.Tensor, index: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        """``values[index]`` (float32) broadcast against ``like`` (B, ...)."""
        picked = values.to(like.device)[index.to(like.device)].float()
        return picked.reshape(-1, *([1] * (like.ndim - 1)))

    def mean(self, x_t: torch.Tensor, x0: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
        """The posterior mean at positions ``index`` (B,) of the chain."""
        return self._at(self.coef_x0, index, x_t) * x0 + self._at(self.coef_xt, index, x_t) * x_t

    def reverse(
        self, x_t: torch.Tensor, output: torch.Tensor, index: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The mean and log variance of ``p(x_{t-1} | x_t)`` from the model's ``output`` (B, 2C, ...):
        noise, then ``v``."""
        eps, v = split_output(output, x_t)
        x0 = self._at(self.recip_a, index, x_t) * x_t - self._at(self.recipm1_a, index, x_t) * eps
        fraction = (v + 1) / 2
        log_variance = fraction * self._at(self.betas.log(), index, x_t) + (1 - fraction) * self._at(
            self.log_variance, index, x_t
        )
        return self.mean(x_t, x0, index), log_variance


def split_output(output: torch.Tensor, x_t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(noise, v) of a learned-variance model's output, which has twice ``x_t``'s channels."""
    if output.shape[1] != 2 * x_t.shape[1]:
        raise ConfigError(
            f"a learned-variance model predicts {2 * x_t.shape[1]} channels (noise, then variance), got {output.shape[1]}"
        )
    eps, v = output.float().chunk(2, dim=1)
    return eps, v


def respaced_timesteps(num_train_timesteps: int, steps: int) -> torch.Tensor:
    """``steps`` training timesteps evenly spaced from 0 to the last, rounded (improved DDPM's
    respacing), ascending."""
    return torch.tensor(
        sorted({round(i * (num_train_timesteps - 1) / max(steps - 1, 1)) for i in range(steps)})
    )


class AncestralSampler:
    """Ancestral sampling with a learned variance over ``steps`` respaced timesteps (DiT's sampler).

    ``x_{t-1} = mean + exp(log_variance / 2) * z``, no noise at the last step.

    Attributes:
        schedule: the forward process (its ``variance_type`` must be ``learned_range``).
        timesteps: the training timesteps visited, from noisiest to cleanest.
        steps: their number.
        stochastic: every step but the last adds noise (as :attr:`DiffusionSampler.stochastic` says).
    """

    stochastic = True

    def __init__(self, schedule: NoiseSchedule, steps: int = 250):
        if not schedule.learned_variance:
            raise ConfigError("ancestral sampling with a learned variance needs a learned_range schedule")
        if not 1 <= steps <= schedule.num_train_timesteps:
            raise ConfigError(
                f"sampling steps must be between 1 and {schedule.num_train_timesteps}, got {steps}"
            )
        self.schedule = schedule
        ascending = respaced_timesteps(schedule.num_train_timesteps, steps)
        self.posterior = Posterior(schedule, ascending)
        self.timesteps: list[int] = ascending.flip(0).tolist()
        self.steps = len(self.timesteps)
        self._position = {t: len(ascending) - 1 - i for i, t in enumerate(self.timesteps)}

    def step(
        self,
        prediction: torch.Tensor,
        t: int,
        x_t: torch.Tensor,
        *,
        noise: torch.Tensor | None = None,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """One reverse step from timestep ``t`` (one of :attr:`timesteps`); ``prediction`` is the
        model's whole output (noise and ``v``); ``noise`` the step's Gaussian noise (drawn from
        ``generator`` when not given)."""
        index = torch.full((x_t.shape[0],), self._position[t], dtype=torch.long)
        mean, log_variance = self.posterior.reverse(x_t.float(), prediction, index)
        if index[0] == 0:
            return mean.to(x_t.dtype)
        if noise is None:
            noise = torch.randn(x_t.shape, generator=generator, device=x_t.device)
        return (mean + torch.exp(0.5 * log_variance) * noise.to(mean)).to(x_t.dtype)

    def sample(self, denoiser, x_T: torch.Tensor, *, generator: torch.Generator | None = None, **conditions):
        """The whole chain from ``x_T``; ``denoiser`` returns noise and ``v``."""
        x = x_T
        for t in self.timesteps:
            timesteps = torch.full((x.shape[0],), t, device=x.device, dtype=torch.long)
            x = self.step(denoiser(x, timesteps, **conditions), t, x, generator=generator)
        return x


def _normal_kl(mean1, log_var1, mean2, log_var2) -> torch.Tensor:
    return 0.5 * (
        -1
        + log_var2
        - log_var1
        + torch.exp(log_var1 - log_var2)
        + (mean1 - mean2) ** 2 * torch.exp(-log_var2)
    )


def _discretized_log_likelihood(
    x0: torch.Tensor, mean: torch.Tensor, log_variance: torch.Tensor
) -> torch.Tensor:
    """Log-likelihood of ``x0`` (in [-1, 1], 8-bit bins) under a Gaussian discretized to those bins."""

    def cdf(x):
        return 0.5 * (1 + torch.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))

    inv_std = torch.exp(-0.5 * log_variance)
    centred = x0 - mean
    cdf_plus, cdf_minus = cdf(inv_std * (centred + 1 / 255)), cdf(inv_std * (centred - 1 / 255))
    log_cdf_plus = torch.log(cdf_plus.clamp(min=1e-12))
    log_one_minus_cdf_min = torch.log((1 - cdf_minus).clamp(min=1e-12))
    middle = torch.log((cdf_plus - cdf_minus).clamp(min=1e-12))
    return torch.where(x0 < -0.999, log_cdf_plus, torch.where(x0 > 0.999, log_one_minus_cdf_min, middle))


def hybrid_loss(
    denoiser,
    x0: torch.Tensor,
    schedule: NoiseSchedule,
    *,
    vlb_weight: float = 0.001,
    valid: torch.Tensor | None = None,
    generator: torch.Generator | None = None,
    **conditions,
) -> torch.Tensor:
    """Improved DDPM's hybrid objective for one batch: ``L_simple + vlb_weight * T * L_t``.

    One timestep per sample, uniform; ``L_simple`` is the mean squared error of the noise,
    ``L_t`` the KL divergence (bits per dimension) between the posterior and the model's reverse
    step, or at ``t = 0`` the negative log-likelihood of ``x0`` under the discretized Gaussian
    decoder, with the predicted mean held fixed (gradients reach the variance only). With
    ``vlb_weight = 0.001`` and ``T = 1000`` this is DiT's loss.

    Args:
        denoiser: ``(x_t, t, **conditions) -> (B, 2C, H, W)`` noise and ``v``.
        x0: clean images in model space, (B, C, H, W).
        schedule: a ``learned_range`` schedule.
        vlb_weight: lambda of the variational bound term.
        valid: optional (B, H, W) bool mask; pixels outside it do not count.
        generator: source of timesteps and noise.

    Returns:
        The scalar loss (float32).
    """
    if not schedule.learned_variance:
        raise ConfigError("the hybrid objective trains a learned variance: use a learned_range schedule")
    steps = schedule.num_train_timesteps
    posterior = Posterior(schedule, torch.arange(steps))
    t = torch.randint(0, steps, (x0.shape[0],), device=x0.device, generator=generator)
    noise = torch.randn(x0.shape, device=x0.device, dtype=x0.dtype, generator=generator)
    x_t = schedule.add_noise(x0, noise, t)
    output = denoiser(x_t, t, **conditions)
    eps, v = split_output(output, x_t)
    mse = (eps - noise.float()).square().mean(dim=1)  # (B, H, W)
    frozen = torch.cat([eps.detach(), v], dim=1)
    mean, log_variance = posterior.reverse(x_t.float(), frozen, t)
    true_mean = posterior.mean(x_t.float(), x0.float(), t)
    true_log_variance = Posterior._at(posterior.log_variance, t, x_t)
    kl = _normal_kl(true_mean, true_log_variance, mean, log_variance).mean(dim=1) / math.log(2)
    nll = -_discretized_log_likelihood(x0.float(), mean, log_variance).mean(dim=1) / math.log(2)
    vlb = torch.where((t == 0)[:, None, None], nll, kl)
    per_pixel = mse + vlb_weight * steps * vlb
    if valid is None:
        return per_pixel.mean()
    valid = valid.to(per_pixel.dtype)
    return ((per_pixel * valid).flatten(1).sum(dim=1) / valid.flatten(1).sum(dim=1).clamp(min=1)).mean()
