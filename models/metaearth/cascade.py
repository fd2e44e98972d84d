"""The self-cascade: stages from coarse to fine, each about 4x finer than the last.

A stage is a model and the resolutions it runs at: a model trained on one level pair is one
stage, a model trained across several (MetaEarth's single resolution-guided model) is one stage
per pair. The first stage may generate from noise (optionally guided by land cover); each later
stage refines the previous stage's canvas. Generation can start at any stage, from a user's own
low-resolution image (any array of reflectance with its resolution), and stop at any stage.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Protocol

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


class WritableArray(ArrayLike, Protocol):
    """An :class:`ArrayLike` that takes numpy-style slice assignment."""

    def __setitem__(self, key, value) -> None: ...


Store = Callable[[StagePlan, int], WritableArray]
"""Makes the array a stage writes its canvas into: ``store(plan, channels)`` -> a writable
(channels, rows, columns) array-like (numpy by default; a disk-backed array for large canvases)."""


def numpy_store(plan: StagePlan, channels: int) -> np.ndarray:
    """Keeps a stage's canvas in memory."""
    return np.zeros((channels, *plan.shape), dtype=np.float32)


class Cascade:
    """Stages of MetaEarth, coarse to fine.

    Args:
        models: denoisers ordered from coarse to fine; each runs every level pair it was trained
            on (:attr:`MetaEarthDenoiser.pairs`); every stage after the first refines a
            low-resolution image.

    Attributes:
        stages: the denoiser of each stage (a model of several pairs appears once per pair).
        pairs: (gsd, condition_gsd) of each stage, metres per pixel.
    """

    def __init__(self, models: Sequence[MetaEarthDenoiser]):
        if not models:
            raise ConfigError("a cascade needs at least one stage")
        self.stages = [model for model in models for _ in model.pairs]
        self.pairs = [pair for model in models for pair in model.pairs]
        if any(condition_gsd is None for _, condition_gsd in self.pairs[1:]):
            raise ConfigError("only the first stage of a cascade may generate from noise")
        gsds = self.gsds
        if any(fine >= coarse for coarse, fine in itertools.pairwise(gsds)):
            raise ConfigError(f"stages must go from coarse to fine resolution, got {gsds} m")

    @property
    def gsds(self) -> list[float]:
        """Metres per pixel of each stage's output."""
        return [gsd for gsd, _ in self.pairs]

    def start_for(self, condition_gsd: float) -> int:
        """The stage to refine an image of ``condition_gsd`` metres: of the stages that refine one,
        the one trained on the nearest resolution (by ratio)."""
        refining = {i: c for i, (_, c) in enumerate(self.pairs) if c is not None}
        if not refining:
            raise ConfigError("these stages only generate from noise: none refines a low-resolution image")
        return min(refining, key=lambda i: abs(math.log(refining[i] / condition_gsd)))

    def stop_for(self, gsd: float) -> int:
        """The stage that generates ``gsd`` metres per pixel (within 1 %)."""
        for index, stage_gsd in enumerate(self.gsds):
            if math.isclose(stage_gsd, gsd, rel_tol=0.01):
                return index
        raise ConfigError(
            f"no stage generates {gsd:g} m: these stages generate {', '.join(f'{g:g}' for g in self.gsds)} m"
        )

    def generator(self, index: int, stop: int | None = None, **options) -> UnboundedGenerator:
        """The generator of stage ``index`` in a run up to stage ``stop`` (default: the finest).

        ``strength`` and ``keep_layout`` act on the stages that refine an image: a first stage that
        generates from noise runs without them when later stages follow (alone, it refuses them).
        """
        stop = len(self.stages) - 1 if stop is None else stop
        if not self.stages[index].conditioned and index < stop:
            options = options | {"strength": 1.0, "keep_layout": False}
        return UnboundedGenerator(self.stages[index], **options)

    def plan(
        self,
        size: tuple[int, int] | None = None,
        *,
        start: int = 0,
        stop: int | None = None,
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
            stop: the last stage to run (default: the finest); its canvas is the final one.
            condition_shape, condition_gsd: the low-resolution input of a conditioned first stage.
            origin_m: ground coordinates (x, y), CRS units, of the top-left corner.
            generator_options: as :class:`UnboundedGenerator` (the window sets the window count).
        """
        stop = len(self.stages) - 1 if stop is None else stop
        if not 0 <= start <= stop < len(self.stages):
            raise ConfigError(f"stages {start} to {stop} are not in this {len(self.stages)}-stage cascade")
        trained_condition_gsd = self.pairs[start][1]
        conditioned = trained_condition_gsd is not None
        final_gsd = self.gsds[stop]
        if trained_condition_gsd is not None:
            if condition_shape is None:
                raise ConfigError(f"stage {start} refines a low-resolution image: give one to start from")
            condition_gsd = float(condition_gsd or trained_condition_gsd)
            if size is None:
                height, width = (math.floor(n * condition_gsd / final_gsd) for n in condition_shape[-2:])
                size = height, width
        elif size is None:
            raise ConfigError("give the size of the canvas to generate from noise")
        if min(size) < 1:
            raise ConfigError(f"canvas size must be at least 1 x 1 pixels, got {size}")
        plans = []
        for index in range(start, stop + 1):
            gsd = self.gsds[index]
            height, width = (math.ceil(n * final_gsd / gsd - 1e-9) for n in size)
            shape = height, width
            origin = (round(-origin_m[1] / gsd), round(origin_m[0] / gsd))
            windows = self.generator(index, stop, **generator_options).windows_needed(*shape)
            cond_gsd = (condition_gsd if conditioned else None) if index == start else self.gsds[index - 1]
            plans.append(StagePlan(index, gsd, cond_gsd, shape, origin, windows))
        return plans

    def generate(
        self,
        size: tuple[int, int] | None = None,
        *,
        start: int = 0,
        stop: int | None = None,
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
        """Runs the stages from ``start`` to ``stop`` and returns the final canvas (reflectance).

        Args:
            size: the final canvas (rows, columns); default: the condition's footprint.
            start: the first stage to run; a conditioned one starts from ``condition``.
            stop: the last stage to run (default: the finest).
            condition: low-resolution reflectance (C, h, w) for a conditioned first stage.
            condition_gsd: its metres per pixel (default: what that stage was trained on).
            landcover, landcover_gsd: class codes (h, w) and their resolution (default: the
                first stage's) for a first stage with a land-cover input.
            origin_m: ground coordinates (x, y) of the top-left corner; they key the noise.
            seed: any int or tuple of ints; each stage draws its own noise from it.
            store: makes each stage's output array (see :data:`Store`).
            progress: called with a stage's plan and the windows it finished since the last call.
            generator_options: ``window``, ``steps``, ``eta``, ``noise``, ``solver``, ``strength``,
                ``keep_layout``, ``batch_size``, ``autocast_dtype`` of :class:`UnboundedGenerator`
                (see :meth:`generator`).
        """
        if condition is not None and self.pairs[start][1] is None:
            raise ConfigError(
                f"stage {start} generates from noise: start from a later stage to refine an image"
            )
        plans = self.plan(
            size,
            start=start,
            stop=stop,
            condition_shape=None if condition is None else tuple(condition.shape),
            condition_gsd=condition_gsd,
            origin_m=origin_m,
            **generator_options,
        )
        for plan in plans:
            stage = self.stages[plan.index]
            generator = self.generator(
                plan.index, plans[-1].index, seed=(seed, plan.index), **generator_options
            )
            canvas = store(plan, stage.config["channels"])
            bands = generator.bands(
                *plan.shape,
                gsd=plan.gsd,
                condition=condition,
                condition_gsd=plan.condition_gsd,
                landcover=landcover if plan.index == start and stage.uses_landcover else None,
                landcover_gsd=landcover_gsd,
                origin=plan.origin,
                progress=None if progress is None else partial(progress, plan),
            )
            for band in bands:
                canvas[:, band.top : band.top + band.data.shape[1], :] = band.data
            condition = canvas
        return canvas
