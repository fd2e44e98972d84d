"""Sampling: DDIM with any eta and step count (eta = 1 is DDPM), one step at a time or a whole chain,
or DPM-Solver++ (a whole chain), which holds the quality of DDIM in fewer steps.

Built on diffusers' :class:`~diffusers.DDIMScheduler` and :class:`~diffusers.DPMSolverMultistepScheduler`.
The single-step API (:meth:`DiffusionSampler.step`, DDIM only) lets a caller run many images in
lockstep and act between steps: average overlapping windows of a canvas, or re-impose known regions
of a mask-conditioned image. A multistep solver keeps the model outputs of earlier steps of each
chain, so it runs whole chains only (:meth:`DiffusionSampler.sample`).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Protocol, get_args

import torch

from terrasynth.core.choices import Solver
from terrasynth.core.errors import ConfigError
from terrasynth.models.diffusion.schedule import NoiseSchedule

SOLVERS: tuple[str, ...] = get_args(Solver)
"""``ddim``: DDIM, any ``eta``; ``dpm++``: DPM-Solver++ 2M (Lu et al., 2022), deterministic."""


class Denoiser(Protocol):
    """Any callable that predicts, from ``x_t``, what its schedule's ``prediction_type`` names (the
    noise, the clean image or the velocity).

    Args:
        x_t: noisy images in model space, (B, C, H, W).
        t: integer timesteps, (B,).
        conditions: keyword tensors the model understands (an LR image, a resolution, a mask, ...).

    Returns:
        The prediction, shaped like ``x_t``.
    """

    def __call__(self, x_t: torch.Tensor, t: torch.Tensor, **conditions) -> torch.Tensor: ...


class DiffusionSampler:
    """Reverse diffusion with DDIM (Song et al., 2021) or DPM-Solver++ over ``steps`` timesteps.

    ``eta`` scales the noise of each step: 0 is deterministic DDIM, 1 is DDPM ancestral sampling
    (with ``sigma_t`` the DDPM posterior standard deviation: DDIM with eta = 1 *is* DDPM, Song et
    al. section 4.1, so :meth:`ddpm` needs no separate scheduler).

    Attributes:
        schedule: the forward process the model was trained with.
        solver: ``ddim`` or ``dpm++`` (:data:`SOLVERS`; ``dpm++`` needs ``eta == 0`` and runs whole
            chains only).
        steps: number of steps run (the ``steps`` asked for, times ``strength``; DPM-Solver++
            merges two that round onto one training timestep).
        eta: noise scale of each step.
        timesteps: the training timesteps visited, from noisiest to cleanest: DDIM's evenly spaced
            from the last ("trailing"); DPM-Solver++'s from the same first one, evenly spaced in
            log signal-to-noise ratio (:meth:`NoiseSchedule.logsnr_timesteps`).
        clip: the bound of the clean image predicted at each step (``[-clip, clip]``), or None to
            leave it free. Pixel-space models, whose images lie in [-1, 1], clip at 1 as DDPM does:
            it keeps the early, noisiest steps of a briefly trained model from running away.
            Latent-space models leave it None.
        strength: the part of the chain that runs, as diffusers' image-to-image ``strength``: 1
            starts from pure noise; below 1, only the last ``round(steps * strength)`` steps run,
            from an image noised to the first of them (:meth:`start`; DPM-Solver++ starts where
            DDIM does and spaces as many steps from there). Starting a super-resolution
            chain from its noised upsampled condition ("come closer, diffuse faster", Chung et
            al., CVPR 2022) spares a model the noisiest steps, where it errs most.
    """

    def __init__(
        self,
        schedule: NoiseSchedule,
        steps: int = 50,
        eta: float = 0.0,
        clip: float | None = None,
        strength: float = 1.0,
        solver: Solver = "ddim",
    ):
        if solver not in SOLVERS:
            raise ConfigError(f"solver {solver!r} is unknown: use one of {', '.join(SOLVERS)}")
        if solver != "ddim" and eta != 0:
            raise ConfigError(
                f"the {solver} solver is deterministic: use eta 0, or the ddim solver for eta {eta}"
            )
        if not 1 <= steps <= schedule.num_train_timesteps:
            raise ConfigError(
                f"sampling steps must be between 1 and {schedule.num_train_timesteps}, got {steps}"
            )
        if eta < 0:
            raise ConfigError(f"eta must be at least 0 (0 = deterministic DDIM, 1 = DDPM), got {eta}")
        self.schedule, self.solver = schedule, solver
        self.eta = float(eta)
        if not 0 < strength <= 1:
            raise ConfigError(f"strength must be in (0, 1] (1 = from pure noise), got {strength}")
        if clip is not None and clip <= 0:
            raise ConfigError(f"the clip bound must be positive (or None for no clipping), got {clip}")
        self.clip = clip
        self.scheduler = schedule.ddim_scheduler(clip)  # dpm++: where a chain cut by strength starts
        self.scheduler.set_timesteps(steps)
        self.strength = float(strength)
        ddim = [int(t) for t in self.scheduler.timesteps][-max(1, round(steps * strength)) :]
        self.timesteps: list[int] = (
            ddim if solver == "ddim" else schedule.logsnr_timesteps(ddim[0], len(ddim))
        )
        self.steps = len(self.timesteps)
        if solver != "ddim":  # copied for every chain (see _solver_chain)
            self._solver = schedule.dpm_solver_scheduler()
            self._solver.set_timesteps(timesteps=self.timesteps)

    @classmethod
    def for_model(
        cls, model, steps: int = 50, eta: float = 0.0, strength: float = 1.0, solver: Solver = "ddim"
    ) -> DiffusionSampler:
        """The sampler of a model that names its ``schedule`` and its ``clip`` bound (MetaEarth
        stages and Changen2 models do), so no caller can leave the bound out."""
        return cls(model.schedule, steps, eta, clip=model.clip, strength=strength, solver=solver)

    @classmethod
    def ddpm(cls, schedule: NoiseSchedule, steps: int | None = None) -> DiffusionSampler:
        """DDPM ancestral sampling, over every training timestep unless ``steps`` says fewer."""
        return cls(schedule, steps or schedule.num_train_timesteps, eta=1.0)

    def start(self, noise: torch.Tensor, image: torch.Tensor | None = None) -> torch.Tensor:
        """The chain's first ``x``: ``noise`` at strength 1, else ``image`` (clean, model space)
        noised to the first timestep with ``noise``."""
        if self.strength == 1.0:
            return noise
        if image is None:
            raise ConfigError(
                "a strength below 1 starts from an image (e.g. the upsampled condition): give one"
            )
        t = torch.full((noise.shape[0],), self.timesteps[0], device=noise.device, dtype=torch.long)
        return self.schedule.add_noise(image, noise, t)

    @property
    def stochastic(self) -> bool:
        """Whether steps add noise (``eta > 0``)."""
        return self.eta > 0

    def step(
        self,
        prediction: torch.Tensor,
        t: int,
        x_t: torch.Tensor,
        *,
        noise: torch.Tensor | None = None,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """One DDIM reverse step from training timestep ``t`` (one of :attr:`timesteps`) to the next.

        Args:
            prediction: the model's prediction (noise, clean image or velocity, as the schedule
                says), shaped like ``x_t`` (cast to ``x_t``'s dtype).
            t: the current timestep, shared by the whole batch.
            x_t: the current images.
            noise: the Gaussian noise of this step when ``eta > 0`` (shaped like ``x_t``); drawn
                from ``generator`` when not given. Ignored when ``eta == 0``.
            generator: source of that noise when ``noise`` is not given.

        Returns:
            ``x`` at the previous (less noisy) timestep.
        """
        if self.solver != "ddim":
            raise ConfigError(
                f"the {self.solver} solver keeps each chain's history and runs whole chains (sample()): "
                "step images in lockstep with the ddim solver"
            )
        if not self.stochastic:
            noise = generator = None
        elif noise is not None:
            generator = None
        return self.scheduler.step(
            prediction.to(x_t.dtype), t, x_t, eta=self.eta, generator=generator, variance_noise=noise
        ).prev_sample  # type: ignore[union-attr]  # diffusers: an output, not a tuple, when return_dict

    def sample(
        self,
        denoiser: Denoiser,
        x_T: torch.Tensor,
        *,
        generator: torch.Generator | None = None,
        step_noise: Callable[[int], torch.Tensor] | None = None,
        on_step: Callable[[int], None] | None = None,
        **conditions,
    ) -> torch.Tensor:
        """The whole reverse chain from ``x_T`` (pure noise) to a clean image, in model space.

        Args:
            denoiser: ``(x_t, t, **conditions) -> prediction``.
            x_T: the initial noise, (B, C, H, W).
            generator: source of the noise of each step (when ``eta > 0``).
            step_noise: instead of ``generator``, a function of the step index (0 = first step)
                returning that step's noise, e.g. noise keyed by ground coordinates.
            on_step: called with the step index after every step (progress).
            conditions: passed on to the denoiser at every step.
        """
        x = x_T
        advance = self.step if self.solver == "ddim" else self._solver_chain()
        for index, t in enumerate(self.timesteps):
            timesteps = torch.full((x.shape[0],), t, device=x.device, dtype=torch.long)
            prediction = denoiser(x, timesteps, **conditions)
            noise = step_noise(index) if step_noise is not None and self.stochastic else None
            x = advance(prediction, t, x, noise=noise, generator=generator)
            if on_step is not None:
                on_step(index)
        return x

    def _solver_chain(self) -> Callable[..., torch.Tensor]:
        """The step function of one chain of the multistep solver: a scheduler of its own (its
        history belongs to this chain alone, so chains may run in any order or in threads) fed the
        clean image each prediction implies, clipped as DDIM clips it. A chain shortened by
        ``strength`` starts at its first timestep with a first-order step."""
        scheduler = copy.deepcopy(self._solver)

        def advance(prediction: torch.Tensor, t: int, x_t: torch.Tensor, **_) -> torch.Tensor:
            x0 = self.schedule.predicted_sample(prediction.to(x_t.dtype), x_t, t)
            if self.clip is not None:
                x0 = x0.clamp(-self.clip, self.clip)
            return scheduler.step(x0, t, x_t).prev_sample  # type: ignore[union-attr]  # an output when return_dict (diffusers)

        return advance
