"""The self-cascade: stages from coarse to fine, each a separate model about 4x finer than the last.

The first stage may generate from noise (optionally guided by land cover); each later stage
refines the previous stage's canvas. Generation can start at any stage, from a user's own
low-resolution image (any array of reflectance with its resolution).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass

import numpy as np

from terrasynth.core.errors import ConfigError
from terrasynth.models.metaearth.denoiser import MetaEarthDenoiser
from terrasynth.models.metaearth.unbounded import ArrayLike, UnboundedGenerator


@dataclass(frozen=True)
class StagePlan:
    """What one stage of a cascade run generates.

    Attributes:
        index: the stage's position in the cascade.
        gsd: metres per pixel of its canvas.
        condition_gsd: metres per pixel of its low-resolution input (None: from noise).
        shape: its canvas, (rows, columns) in pixels.
        origin: global pixel (row, column) of its canvas's top-left corner (keys the noise).
        windows: windows it runs (the total of its progress).
    """

    index: int
    gsd: float
    condition_gsd: float | None
    shape: tuple[int, int]
    origin: tuple[int, int]
    windows: int


Store = Callable[[StagePlan, int], ArrayLike]
"""Makes the array a stage writes its canvas into: ``store(plan, channels)`` -> a writable
(channels, rows, columns) array-like (numpy by default; a disk-backed array for large canvases)."""


def numpy_store(plan: StagePlan, channels: int) -> np.ndarray:
    """Keeps a stage's canvas in memory."""
    return np.zeros((channels, *plan.shape), dtype=np.float32)


class Cascade:
    """Stages of MetaEarth, coarse to fine.

    Args:
        stages: denoisers ordered from coarse to fine; every stage after the first refines a
            low-resolution image.
    """

    def __init__(self, stages: Sequence[MetaEarthDenoiser]):
        if not stages:
            raise ConfigError("a cascade needs at least one stage")
        for stage in stages[1:]:
            if not stage.conditioned:
                raise ConfigError("only the first stage of a cascade may generate from noise")
        gsds = [stage.config.gsd for stage in stages]
        if any(fine >= coarse for coarse, fine in itertools.pairwise(gsds)):
            raise ConfigError(f"stages must go from coarse to fine resolution, got {gsds} m")
        self.stages = list(stages)

    @property
    def gsds(self) -> list[float]:
        """Metres per pixel of each stage's output."""
        return [stage.config.gsd for stage in self.stages]

    def plan(
        self,
        size: tuple[int, int] | None = None,
        *,
        start: int = 0,
        condition_shape: tuple[int, ...] | None = None,
        condition_gsd: float | None = None,
        origin_m: tuple[float, float] = (0.0, 0.0),
        **generator_options,
    ) -> list[StagePlan]:
        """The stages a run goes through and their canvases.

        Every canvas starts at the same top-left corner and covers the final canvas's footprint
        (coarser ones may reach a little further).

        Args:
            size: the final canvas (rows, columns); default: the footprint of the condition.
            start: the first stage to run.
            condition_shape, condition_gsd: the low-resolution input of a conditioned first stage.
            origin_m: ground coordinates (x, y), CRS units, of the top-left corner.
            generator_options: as :class:`UnboundedGenerator` (the window sets the window count).
        """
        if not 0 <= start < len(self.stages):
            raise ConfigError(f"start stage {start} is not in this {len(self.stages)}-stage cascade")
        first = self.stages[start]
        final_gsd = self.gsds[-1]
        if first.conditioned:
            if condition_shape is None:
                raise ConfigError(f"stage {start} refines a low-resolution image: give one to start from")
            condition_gsd = float(condition_gsd or first.config.condition_gsd)
            if size is None:
                size = tuple(math.floor(n * condition_gsd / final_gsd) for n in condition_shape[-2:])
        elif size is None:
            raise ConfigError("give the size of the canvas to generate from noise")
        if min(size) < 1:
            raise ConfigError(f"canvas size must be at least 1 x 1 pixels, got {size}")
        plans = []
        for index in range(start, len(self.stages)):
            gsd = self.gsds[index]
            shape = tuple(math.ceil(n * final_gsd / gsd - 1e-9) for n in size)
            origin = (round(-origin_m[1] / gsd), round(origin_m[0] / gsd))
            windows = UnboundedGenerator(self.stages[index], **generator_options).windows_needed(*shape)
            cond_gsd = (
                (condition_gsd if first.conditioned else None) if index == start else self.gsds[index - 1]
            )
            plans.append(StagePlan(index, gsd, cond_gsd, shape, origin, windows))
        return plans

    def generate(
        self,
        size: tuple[int, int] | None = None,
        *,
        start: int = 0,
        condition: ArrayLike | None = None,
        condition_gsd: float | None = None,
        landcover: ArrayLike | None = None,
        landcover_gsd: float | None = None,
        origin_m: tuple[float, float] = (0.0, 0.0),
        seed: Hashable = 0,
        store: Store = numpy_store,
        progress: Callable[[StagePlan, float], None] | None = None,
        **generator_options,
    ) -> ArrayLike:
        """Runs the stages from ``start`` to the finest and returns the final canvas (reflectance).

        Args:
            size: the final canvas (rows, columns); default: the condition's footprint.
            start: the first stage to run; a conditioned one starts from ``condition``.
            condition: low-resolution reflectance (C, h, w) for a conditioned first stage.
            condition_gsd: its metres per pixel (default: what that stage was trained on).
            landcover, landcover_gsd: class codes (h, w) and their resolution (default: the
                first stage's) for a first stage with a land-cover input.
            origin_m: ground coordinates (x, y) of the top-left corner; they key the noise.
            seed: any int or tuple of ints; each stage draws its own noise from it.
            store: makes each stage's output array (see :data:`Store`).
            progress: called with a stage's plan and the windows it finished since the last call.
            generator_options: ``window``, ``steps``, ``eta``, ``noise``, ``batch_size``,
                ``autocast_dtype`` of :class:`UnboundedGenerator`.
        """
        if condition is not None and not self.stages[start].conditioned:
            raise ConfigError(
                f"stage {start} generates from noise: start from a later stage to refine an image"
            )
        plans = self.plan(
            size,
            start=start,
            condition_shape=None if condition is None else tuple(condition.shape),
            condition_gsd=condition_gsd,
            origin_m=origin_m,
            **generator_options,
        )
        for plan in plans:
            stage = self.stages[plan.index]
            generator = UnboundedGenerator(stage, seed=(seed, plan.index), **generator_options)
            canvas = store(plan, stage.config.channels)
            bands = generator.bands(
                *plan.shape,
                gsd=plan.gsd,
                condition=condition,
                condition_gsd=plan.condition_gsd,
                landcover=landcover if plan.index == start and stage.uses_landcover else None,
                landcover_gsd=landcover_gsd,
                origin=plan.origin,
                progress=None if progress is None else lambda n, plan=plan: progress(plan, n),
            )
            for band in bands:
                canvas[:, band.top : band.top + band.data.shape[1], :] = band.data
            condition = canvas
        return canvas
