"""The diffusion core shared by the MetaEarth cascade and Changen2.

- :class:`NoiseSchedule`: the forward process (``linear`` or ``scaled_linear`` betas, MetaEarth's
  values by default), on diffusers' schedulers; records which one a model used.
- :class:`ReflectanceScaling`: reflectance <-> the [-1, 1] model space.
- :func:`epsilon_loss` and :func:`p2_weight`: the epsilon-prediction objective with P2 weighting.
- :class:`DiffusionSampler`: DDIM with any eta and step count (eta = 1 is DDPM), as a whole chain
  or one step at a time for images run in lockstep.

A denoiser is any callable ``(x_t, t, **conditions) -> eps`` (:class:`Denoiser`).
"""

from terrasynth.models.diffusion.loss import epsilon_loss, p2_weight
from terrasynth.models.diffusion.normalisation import ReflectanceScaling
from terrasynth.models.diffusion.sampler import Denoiser, DiffusionSampler
from terrasynth.models.diffusion.schedule import SCHEDULE_KINDS, NoiseSchedule

__all__ = [
    "SCHEDULE_KINDS",
    "Denoiser",
    "DiffusionSampler",
    "NoiseSchedule",
    "ReflectanceScaling",
    "epsilon_loss",
    "p2_weight",
]
