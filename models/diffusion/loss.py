"""The training objective: epsilon prediction with perception-prioritised (P2) weighting."""

from __future__ import annotations

import torch

from terrasynth.models.diffusion.sampler import Denoiser
from terrasynth.models.diffusion.schedule import NoiseSchedule


def p2_weight(snr: torch.Tensor, k: float = 1.0, gamma: float = 0.0) -> torch.Tensor:
    """P2 loss weight ``1 / (k + SNR(t)) ** gamma`` (Choi et al., CVPR 2022).

    ``gamma = 0`` gives the plain (unweighted) loss; MetaEarth uses ``k = 1`` and ``gamma`` 0.5 or 1,
    which lowers the weight of the nearly clean steps (high SNR).
    """
    return (k + snr) ** -gamma


def epsilon_loss(
    denoiser: Denoiser,
    x0: torch.Tensor,
    schedule: NoiseSchedule,
    *,
    valid: torch.Tensor | None = None,
    p2_k: float = 1.0,
    p2_gamma: float = 0.0,
    generator: torch.Generator | None = None,
    **conditions,
) -> torch.Tensor:
    """The P2-weighted mean squared error of the predicted noise, for one batch.

    Draws one timestep per sample uniformly from the schedule's training steps and Gaussian noise
    (from ``generator`` when given, so a training step can be made reproducible), noises ``x0``
    and asks ``denoiser(x_t, t, **conditions)`` for the noise.

    Args:
        denoiser: ``(x_t, t, **conditions) -> eps``.
        x0: clean images in model space, (B, C, H, W).
        schedule: the forward process.
        valid: optional (B, H, W) bool mask; pixels outside it do not count.
        p2_k, p2_gamma: the P2 weighting (see :func:`p2_weight`).
        generator: source of timesteps and noise (on ``x0``'s device).
        conditions: passed on to the denoiser.

    Returns:
        The scalar loss (float32).
    """
    batch = x0.shape[0]
    t = torch.randint(0, schedule.num_train_timesteps, (batch,), device=x0.device, generator=generator)
    noise = torch.randn(x0.shape, device=x0.device, dtype=x0.dtype, generator=generator)
    eps = denoiser(schedule.add_noise(x0, noise, t), t, **conditions)
    error = (eps.float() - noise.float()).square().mean(dim=1)  # (B, H, W)
    if valid is None:
        per_sample = error.flatten(1).mean(dim=1)
    else:
        valid = valid.to(error.dtype)
        per_sample = (error * valid).flatten(1).sum(dim=1) / valid.flatten(1).sum(dim=1).clamp(min=1)
    return (p2_weight(schedule.snr(t), p2_k, p2_gamma) * per_sample).mean()
