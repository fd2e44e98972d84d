"""Noise schedules: the forward (noising) process of a diffusion model, on diffusers' schedulers."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import cached_property

import numpy as np
import torch

# Each from its module: mypy reads diffusers' top-level names as its torch-less dummy classes.
from diffusers.schedulers.scheduling_ddim import DDIMScheduler
from diffusers.schedulers.scheduling_ddpm import DDPMScheduler
from diffusers.schedulers.scheduling_dpmsolver_multistep import DPMSolverMultistepScheduler

from terrasynth.core.errors import ConfigError

SCHEDULE_KINDS = ("linear", "scaled_linear")
VARIANCE_TYPES = ("fixed", "learned_range")
"""The variance of the reverse steps: ``fixed`` (the model predicts no variance; DDIM picks its own)
or ``learned_range`` (improved DDPM, Nichol & Dhariwal 2021: the model's second half of channels
interpolates, per pixel, between the log posterior variance and log beta)."""
PREDICTION_TYPES = ("epsilon", "sample", "v_prediction")
"""What a model predicts from ``x_t`` (diffusers' names): the noise, the clean image ``x0``, or the
velocity ``v = sqrt(a_t) noise - sqrt(1 - a_t) x0`` (Salimans & Ho, 2022)."""


@dataclass(frozen=True)
class NoiseSchedule:
    """The betas of the forward process over ``num_train_timesteps`` steps.

    ``kind`` follows diffusers' names:

    - ``"scaled_linear"`` (default): ``beta = linspace(sqrt(beta_start), sqrt(beta_end), T) ** 2``.
      This is what latent diffusion and MetaEarth call "linear" (MetaEarth: 0.0015 to 0.0155, T = 1000).
    - ``"linear"``: ``beta = linspace(beta_start, beta_end, T)``.

    ``prediction_type`` (:data:`PREDICTION_TYPES`) says what the model predicts, as in diffusers'
    scheduler configs. ``variance_type`` (:data:`VARIANCE_TYPES`) says whether it also predicts the
    variance of each reverse step (DiT's and the released Changen2 RS-DiT's ``learned_range``, with
    ``linear`` betas 1e-4 to 0.02). A model records the schedule it was trained with
    (:meth:`to_dict`) and samples with the same one.
    """

    kind: str = "scaled_linear"
    beta_start: float = 0.0015
    beta_end: float = 0.0155
    num_train_timesteps: int = 1000
    prediction_type: str = "epsilon"
    variance_type: str = "fixed"

    def __post_init__(self):
        if self.kind not in SCHEDULE_KINDS:
            raise ConfigError(
                f"noise schedule {self.kind!r} is unknown: use one of {', '.join(SCHEDULE_KINDS)}"
            )
        if not 0 < self.beta_start < self.beta_end < 1:
            raise ConfigError(
                f"noise schedule needs 0 < beta_start < beta_end < 1, got {self.beta_start} and {self.beta_end}"
            )
        if self.num_train_timesteps < 2:
            raise ConfigError(f"noise schedule needs at least 2 steps, got {self.num_train_timesteps}")
        if self.prediction_type not in PREDICTION_TYPES:
            raise ConfigError(
                f"prediction type {self.prediction_type!r} is unknown: use one of {', '.join(PREDICTION_TYPES)}"
            )
        if self.variance_type not in VARIANCE_TYPES:
            raise ConfigError(
                f"variance type {self.variance_type!r} is unknown: use one of {', '.join(VARIANCE_TYPES)}"
            )
        if self.variance_type == "learned_range" and self.prediction_type != "epsilon":
            raise ConfigError("a learned variance goes with noise prediction (prediction_type epsilon)")

    @classmethod
    def dit(cls) -> NoiseSchedule:
        """DiT's (and the released Changen2 RS-DiT's) schedule: linear betas 1e-4 to 0.02 over 1000
        steps, noise prediction with a learned variance."""
        return cls("linear", 1e-4, 0.02, 1000, "epsilon", "learned_range")

    @property
    def learned_variance(self) -> bool:
        return self.variance_type == "learned_range"

    @property
    def betas(self) -> torch.Tensor:
        """The betas in float64, as improved DDPM computes its posterior (one per training step)."""
        if self.kind == "linear":
            return torch.linspace(
                self.beta_start, self.beta_end, self.num_train_timesteps, dtype=torch.float64
            )
        root = torch.linspace(
            self.beta_start**0.5, self.beta_end**0.5, self.num_train_timesteps, dtype=torch.float64
        )
        return root**2

    def _scheduler_config(self) -> dict:
        return {
            "num_train_timesteps": self.num_train_timesteps,
            "beta_start": self.beta_start,
            "beta_end": self.beta_end,
            "beta_schedule": self.kind,
            "prediction_type": self.prediction_type,
            "clip_sample": False,
        }

    def ddpm_scheduler(self) -> DDPMScheduler:
        """diffusers' DDPM scheduler for this schedule (no clipping)."""
        return DDPMScheduler(**self._scheduler_config())

    def ddim_scheduler(self, clip: float | None = None) -> DDIMScheduler:
        """diffusers' DDIM scheduler for this schedule.

        Timesteps are spaced from the end ("trailing"), so the first sampling step starts at the
        last training timestep, and the final step lands on the clean image (``set_alpha_to_one``).
        ``clip`` bounds the clean image predicted at each step to ``[-clip, clip]`` (None: free).
        """
        config = self._scheduler_config()
        if clip is not None:
            config |= {"clip_sample": True, "clip_sample_range": clip}
        return DDIMScheduler(**config, set_alpha_to_one=True, timestep_spacing="trailing")

    def dpm_solver_scheduler(self) -> DPMSolverMultistepScheduler:
        """diffusers' DPM-Solver++ (2M: second order, first order at the first and, below 15 steps,
        the last step) for this schedule, fed the clean image (``prediction_type="sample"``: see
        :meth:`predicted_sample`); give it :meth:`logsnr_timesteps`."""
        config = {k: v for k, v in self._scheduler_config().items() if k != "clip_sample"}
        config["prediction_type"] = "sample"
        return DPMSolverMultistepScheduler(**config, algorithm_type="dpmsolver++", solver_order=2)

    def logsnr_timesteps(self, first: int, steps: int) -> list[int]:
        """``steps`` training timesteps from ``first`` down to 0, evenly spaced in log signal-to-noise
        ratio (DPM-Solver's spacing: dense where the image is nearly clean); two that round onto
        one timestep are merged."""
        a = self.alphas_cumprod.double()
        log_snr = (0.5 * torch.log(a / (1 - a))).numpy()  # falls with t
        wanted = np.linspace(log_snr[first], log_snr[0], steps)
        t = np.interp(wanted, log_snr[::-1], np.arange(len(a))[::-1])
        return sorted({int(v) for v in np.round(t)}, reverse=True)

    def predicted_sample(self, prediction: torch.Tensor, x_t: torch.Tensor, t: int) -> torch.Tensor:
        """The clean image that a model's ``prediction`` (noise, clean image or velocity) at
        ``x_t`` and training timestep ``t`` implies."""
        a = self.alphas_cumprod[t].to(x_t.device, x_t.dtype)
        if self.prediction_type == "epsilon":
            return (x_t - (1 - a).sqrt() * prediction) / a.sqrt()
        if self.prediction_type == "sample":
            return prediction
        return a.sqrt() * x_t - (1 - a).sqrt() * prediction

    @cached_property
    def _training_scheduler(self) -> DDPMScheduler:
        return self.ddpm_scheduler()

    @property
    def alphas_cumprod(self) -> torch.Tensor:
        """Cumulative products of ``1 - beta``, one per training timestep (float32)."""
        return self._training_scheduler.alphas_cumprod

    def snr(self, t: torch.Tensor) -> torch.Tensor:
        """Signal-to-noise ratio ``a_t / (1 - a_t)`` at integer timesteps ``t`` (on ``t``'s device)."""
        a = self.alphas_cumprod.to(t.device)[t]
        return a / (1 - a)

    def add_noise(self, x0: torch.Tensor, noise: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """``x_t = sqrt(a_t) x0 + sqrt(1 - a_t) noise`` for a batch with one timestep per sample."""
        return self._training_scheduler.add_noise(x0, noise, t)  # type: ignore[arg-type]  # diffusers says IntTensor; takes any integer tensor

    def target(self, x0: torch.Tensor, noise: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """What the model should predict for ``x_t = add_noise(x0, noise, t)``: the noise, ``x0`` or ``v``."""
        if self.prediction_type == "epsilon":
            return noise
        if self.prediction_type == "sample":
            return x0
        return self._training_scheduler.get_velocity(x0, noise, t)  # type: ignore[arg-type]  # diffusers says IntTensor; takes any integer tensor

    def to_dict(self) -> dict:
        """JSON-ready settings, to store beside a model's weights (``variance_type`` only when the
        variance is learned, so the configs of fixed-variance models read as before it existed)."""
        settings = asdict(self)
        if not self.learned_variance:
            del settings["variance_type"]
        return settings

    @classmethod
    def from_dict(cls, settings: dict) -> NoiseSchedule:
        return cls(**settings)
