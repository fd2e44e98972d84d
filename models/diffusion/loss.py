"""The training objective: the mean squared error of a model's prediction (noise, clean image or
velocity, as its schedule says), weighted per timestep by P2 or Min-SNR-gamma."""

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


def min_snr_weight(snr: torch.Tensor, gamma: float, prediction_type: str) -> torch.Tensor:
    """Min-SNR-gamma loss weight (Hang et al., ICCV 2023) for a model predicting ``prediction_type``.

    Every timestep then weighs ``min(SNR(t), gamma)`` times the squared error of the clean image it
    implies: the nearly clean steps no longer dominate, whatever the model predicts. The squared error
    of a noise prediction is ``SNR`` times that of the clean image, a velocity's ``SNR + 1`` times.
    """
    clipped = snr.clamp(max=gamma)
    if prediction_type == "epsilon":
        return clipped / snr
    if prediction_type == "v_prediction":
        return clipped / (snr + 1)
    return clipped


def diffusion_loss(
    denoiser: Denoiser,
    x0: torch.Tensor,
    schedule: NoiseSchedule,
    *,
    valid: torch.Tensor | None = None,
    p2_k: float = 1.0,
    p2_gamma: float = 0.0,
    snr_gamma: float | None = None,
    generator: torch.Generator | None = None,
    **conditions,
) -> torch.Tensor:
    """The weighted mean squared error of the model's prediction, for one batch.

    Draws one timestep per sample uniformly from the schedule's training steps and Gaussian noise
    (from ``generator`` when given, so a training step can be made reproducible), noises ``x0``,
    asks ``denoiser(x_t, t, **conditions)`` for its prediction and compares it with the target of
    the schedule's ``prediction_type`` (:meth:`NoiseSchedule.target`).

    Args:
        denoiser: ``(x_t, t, **conditions) -> prediction``.
        x0: clean images in model space, (B, C, H, W).
        schedule: the forward process and what the model predicts.
        valid: optional (B, H, W) bool mask; pixels outside it do not count.
        p2_k, p2_gamma: the P2 weighting (see :func:`p2_weight`).
        snr_gamma: Min-SNR-gamma weighting instead of P2 (see :func:`min_snr_weight`); None: P2.
        generator: source of timesteps and noise (on ``x0``'s device).
        conditions: passed on to the denoiser.

    Returns:
        The scalar loss (float32).
    """
    batch = x0.shape[0]
    t = torch.randint(0, schedule.num_train_timesteps, (batch,), device=x0.device, generator=generator)
    noise = torch.randn(x0.shape, device=x0.device, dtype=x0.dtype, generator=generator)
    prediction = denoiser(schedule.add_noise(x0, noise, t), t, **conditions)
    target = schedule.target(x0, noise, t)
    error = (prediction.float() - target.float()).square().mean(dim=1)  # (B, H, W)
    if valid is None:
        per_sample = error.flatten(1).mean(dim=1)
    else:
        valid = valid.to(error.dtype)
        per_sample = (error * valid).flatten(1).sum(dim=1) / valid.flatten(1).sum(dim=1).clamp(min=1)
    snr = schedule.snr(t)
    if snr_gamma is None:
        weight = p2_weight(snr, p2_k, p2_gamma)
    else:
        weight = min_snr_weight(snr, snr_gamma, schedule.prediction_type)
    return (weight * per_sample).mean()


epsilon_loss = diffusion_loss
"""The name Changen2's training uses: its models predict the noise, so the loss is that of the noise."""
