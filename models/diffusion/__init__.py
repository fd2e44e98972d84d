"""The diffusion core shared by the MetaEarth cascade and Changen2.

- :class:`NoiseSchedule`: the forward process (``linear`` or ``scaled_linear`` betas, MetaEarth's
  values by default) and what the model predicts (noise, clean image or velocity), on diffusers'
  schedulers; records which one a model used.
- :class:`ReflectanceScaling`: reflectance <-> the [-1, 1] model space.
- :func:`diffusion_loss` (also ``epsilon_loss``), :func:`p2_weight`, :func:`min_snr_weight`: the
  objective of any prediction type, with P2 or Min-SNR-gamma weighting.
- :class:`DiffusionSampler`: DDIM with any eta and step count (eta = 1 is DDPM), as a whole chain
  or one step at a time for images run in lockstep; or DPM-Solver++ (``solver="dpm++"``, whole
  chains), which holds DDIM's quality in fewer steps.

- :class:`AncestralSampler`, :func:`hybrid_loss`: learned variances (improved DDPM, as DiT and
  the released Changen2 RS-DiT): ancestral sampling with the model's variance, the hybrid objective.

A denoiser is any callable ``(x_t, t, **conditions) -> prediction`` (:class:`Denoiser`).
"""

from terrasynth.models.diffusion.learned_variance import AncestralSampler, hybrid_loss
from terrasynth.models.diffusion.loss import diffusion_loss, epsilon_loss, min_snr_weight, p2_weight
from terrasynth.models.diffusion.normalisation import ReflectanceScaling
from terrasynth.models.diffusion.sampler import SOLVERS, Denoiser, DiffusionSampler, Solver
from terrasynth.models.diffusion.schedule import (
    PREDICTION_TYPES,
    SCHEDULE_KINDS,
    VARIANCE_TYPES,
    NoiseSchedule,
)

__all__ = [
    "PREDICTION_TYPES",
    "SCHEDULE_KINDS",
    "SOLVERS",
    "VARIANCE_TYPES",
    "AncestralSampler",
    "Denoiser",
    "DiffusionSampler",
    "NoiseSchedule",
    "ReflectanceScaling",
    "Solver",
    "diffusion_loss",
    "epsilon_loss",
    "hybrid_loss",
    "min_snr_weight",
    "p2_weight",
]
