"""GPCM synthesis (Changen2): the image of every date of a simulated change sequence, drawn by a
mask-conditioned diffusion model from the first date's image.

The first date is the given image. Each later date is drawn conditioned on its simulated mask (and
next-time contours), and must match the previous date wherever the scene did not change. The
consistency mechanism:

1. **Only the changed area is drawn.** The change since the previous date, dilated by ``margin``
   pixels, is the region drawn; outside it the previous date's image is carried over exactly. The
   default margin, 1 pixel, is the 3 x 3 square around a change in which the next-time contours
   are the later date's: the outlines of new objects are drawn with them.
2. **RePaint-style blending** (Lugmayr et al., CVPR 2022). After every DDIM step, the model's
   variable outside the drawn region is replaced by the previous date noised to the step's
   timestep, so the model sees the true surroundings at the right noise level at every step and
   the new content fits them; after the last step it is the previous date itself.
3. **Shared noise.** One initial noise per series serves every date, and it is also the noise
   that noises the known region: where two dates are drawn under the same condition, they follow
   the same deterministic (DDIM, eta = 0) path, and the noise field is continuous across the
   border of the drawn region.

A model with a learned variance (a ``learned_range`` schedule: the released Changen2 weights) is
sampled as it was trained, ancestrally with its variance over respaced timesteps
(:class:`~terrasynth.models.diffusion.AncestralSampler`); each step then adds noise, taken from
``step_noise`` (keyed, so a series is the same whatever it is batched with) or drawn.

In a latent model the region is taken to latent pixels (a latent pixel is drawn when any of its
image pixels is), and the decoded image is pasted into the previous date only inside the region,
so unchanged pixels are not even touched by the autoencoder's reconstruction error.

RS-DiT attends in 8 x 8 token windows, and every fourth block over the whole token grid, so at
sizes beyond the training tile memory grows with the square of the tokens in those blocks;
:attr:`Changen2Model.global_window` bounds them to windows for very large pixel-space images.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial

import numpy as np
import torch
import torch.nn.functional as F

from terrasynth.core.errors import ConfigError
from terrasynth.models.changen2.model import Changen2Model
from terrasynth.models.changen2.sequence import ChangeSequence
from terrasynth.models.diffusion import AncestralSampler, DiffusionSampler


class GPCM:
    """Draws the dates of change sequences with a :class:`Changen2Model`.

    Args:
        model: the mask-conditioned model.
        steps: steps per date: deterministic DDIM (eta = 0), or ancestral steps for a model with a
            learned variance.
        margin: pixels by which the change region is dilated before it is drawn (wider margins
            give the model more room to blend a change in, and change more of the unchanged area).
        autocast_dtype: run the model under autocast to this dtype (e.g. ``torch.bfloat16`` on GPUs).
    """

    def __init__(
        self,
        model: Changen2Model,
        *,
        steps: int = 50,
        margin: int = 1,
        autocast_dtype: torch.dtype | None = None,
    ):
        if margin < 0:
            raise ConfigError(f"the blending margin must be at least 0 pixels, got {margin}")
        self.model, self.margin, self.autocast_dtype = model, margin, autocast_dtype
        learned = model.schedule.learned_variance
        self.sampler = (
            AncestralSampler(model.schedule, steps) if learned else DiffusionSampler.for_model(model, steps)
        )

    @property
    def steps(self) -> int:
        return self.sampler.steps

    def noise_shape(self, height: int, width: int) -> tuple[int, int, int]:
        """(C, h, w) of one series' initial noise for images of ``height`` x ``width`` pixels."""
        return self.model.latent_shape(height, width)

    @torch.no_grad()
    def __call__(
        self,
        image: torch.Tensor,
        sequences: Sequence[ChangeSequence],
        noise: torch.Tensor,
        *,
        on_step: Callable[[], None] | None = None,
        step_noise: Callable[[int, int], torch.Tensor] | None = None,
    ) -> torch.Tensor:
        """The images of every date of ``sequences``, one per image of the batch.

        Args:
            image: (B, C, H, W) reflectance of the first date.
            sequences: B simulated sequences of T dates on (H, W) masks, the first being the image's.
            noise: (B, *noise_shape) initial noise, one per series (shared by its dates).
            on_step: called after every denoising step (progress).
            step_noise: for samplers that add noise at every step, ``(date, step) -> (B, *noise_shape)``
                that step's noise (default: drawn from torch's global generator).

        Returns:
            (B, T, C, H, W) reflectance; date 0 is ``image``.
        """
        model, (batch, _, height, width) = self.model, image.shape
        lengths = {s.masks.shape for s in sequences}
        if len(sequences) != batch or len(lengths) != 1 or next(iter(lengths))[1:] != (height, width):
            raise ConfigError(
                f"GPCM needs one sequence per image, all of one length and of the images' size {height} x {width}"
            )
        if noise.shape != (batch, *self.noise_shape(height, width)):
            raise ConfigError(
                f"initial noise is {tuple(noise.shape)}, expected {(batch, *self.noise_shape(height, width))}"
            )

        def stacked(name: str) -> torch.Tensor:
            return torch.from_numpy(np.stack([getattr(s, name) for s in sequences])).to(image.device)

        masks, boundaries, changes = stacked("masks"), stacked("boundaries"), stacked("changes")
        noise = noise.to(image.device, image.dtype)
        images, previous = [image], model.to_latent(image)
        for date in range(1, masks.shape[1]):
            drawn = _dilate(changes[:, date], self.margin)  # (B, 1, H, W) bool
            condition = model.encoding.encode(masks[:, date], boundaries[:, date])
            factor = model.latent_factor
            drawn_latent = F.max_pool2d(drawn.float(), factor) > 0 if factor > 1 else drawn
            noises = partial(step_noise, date) if step_noise is not None else None
            previous = self._draw(previous, drawn_latent, condition, noise, on_step, noises)
            images.append(torch.where(drawn, model.from_latent(previous).to(image.dtype), images[-1]))
        return torch.stack(images, dim=1)

    def _draw(self, previous, drawn, condition, noise, on_step, step_noise) -> torch.Tensor:
        """One date: the reverse chain with the known region (``~drawn``) re-imposed after every step."""
        schedule, timesteps, batch = self.model.schedule, self.sampler.timesteps, previous.shape[0]

        def noised(step: int) -> torch.Tensor:
            t = torch.full((batch,), timesteps[step], device=previous.device, dtype=torch.long)
            return schedule.add_noise(previous, noise, t)

        x = torch.where(drawn, noise, noised(0))
        for step, t in enumerate(timesteps):
            tensor_t = torch.full((batch,), t, device=x.device, dtype=torch.long)
            with torch.autocast(x.device.type, self.autocast_dtype, enabled=self.autocast_dtype is not None):
                out = self.model(
                    x, tensor_t, mask=condition, with_variance=self.model.schedule.learned_variance
                )
            z = step_noise(step).to(x) if step_noise is not None and self.sampler.stochastic else None
            x = self.sampler.step(out.float(), t, x, noise=z)
            x = torch.where(drawn, x, noised(step + 1) if step + 1 < len(timesteps) else previous)
            if on_step is not None:
                on_step()
        return x


def _dilate(mask: torch.Tensor, margin: int) -> torch.Tensor:
    """(B, H, W) bool dilated by a square of ``margin`` pixels each side -> (B, 1, H, W) bool."""
    mask = mask[:, None]
    if margin == 0:
        return mask
    return F.max_pool2d(mask.float(), 2 * margin + 1, stride=1, padding=margin) > 0


def consistency(series: torch.Tensor, changes: torch.Tensor) -> dict[str, float]:
    """Mean absolute difference between consecutive dates, in unchanged and in changed pixels.

    Args:
        series: (T, C, H, W) or (B, T, C, H, W) images.
        changes: (T, H, W) or (B, T, H, W) bool, True where the scene changed since the previous
            date (date 0 is ignored).

    Returns:
        ``unchanged`` and ``changed``: the mean over bands and pixels of ``|I_t - I_{t-1}|``; their
        ``ratio`` (unchanged / changed; near 0 when unchanged areas are kept, NaN when either kind
        of pixel is missing); ``unchanged_pixels`` and ``changed_pixels``: how many pixels (and
        dates) each mean is over.
    """
    series, changes = series.reshape(-1, *series.shape[-4:]), changes.reshape(-1, *changes.shape[-3:])
    difference = (series[:, 1:] - series[:, :-1]).abs().float().mean(dim=2).flatten()
    changed = torch.as_tensor(changes, device=series.device)[:, 1:].bool().flatten()
    counts = {"unchanged_pixels": int((~changed).sum()), "changed_pixels": int(changed.sum())}
    means = {
        "unchanged": difference[~changed].mean().item() if counts["unchanged_pixels"] else float("nan"),
        "changed": difference[changed].mean().item() if counts["changed_pixels"] else float("nan"),
    }
    ratio = means["unchanged"] / means["changed"] if means["changed"] else float("nan")
    return {**means, "ratio": ratio, **counts}
