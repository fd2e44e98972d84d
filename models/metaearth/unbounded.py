"""Unbounded generation with one stage: a canvas of any size from batched sliding windows.

Windows follow :class:`~terrasynth.models.metaearth.windows.WindowGrid` (half overlap, a quarter
cut at merges). With the ``shared``, ``independent`` and ``field`` noise modes every window is
sampled on its own (a whole chain of DDIM or DPM-Solver++ steps per window; a batch of windows
runs together, but no window's steps depend on another's) and only its kept part is used.
With ``average``, overlapping windows are averaged at every step (the noise predictions of all
windows covering a pixel are averaged before the step), on a field of initial noise: strips of
the canvas step in lockstep, one DDIM step at a time (a multistep solver's history is per chain).

Memory stays bounded for any canvas: finished rows are yielded as soon as they are complete
(:class:`CanvasBand`), and conditions are read window by window from any array-like input (a
numpy array, a memory map, a Zarr array, a windowed raster reader), so the caller can stream
both ends to disk. The averaged mode advances the canvas as a wavefront of half-window strips,
each strip one step behind the one above it, holding about ``2 * steps`` strips at a time.

Every draw of noise is keyed by (seed, location), so a canvas can be split by rows across
processes or machines (``rows=``) and the parts stitch without seams. Within one process the parts
are bit-identical to the whole. Across processes they are bit-identical only when the float
arithmetic is: the same CPU kind or GPU, the same thread count (``torch.set_num_threads``) and the
same weight memory layout (weights loaded the same way, e.g. both with ``from_pretrained``, where
alignment can still differ). Otherwise they differ by float32 rounding, about 1e-5 in reflectance.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Protocol, cast

import numpy as np
import torch

from terrasynth.core.errors import ConfigError
from terrasynth.models.diffusion import DiffusionSampler, Solver
from terrasynth.models.metaearth.denoiser import MetaEarthDenoiser, resample_onto
from terrasynth.models.metaearth.layout import take_layout
from terrasynth.models.metaearth.noise import INITIAL, NOISE_MODES, NoiseField, WindowNoise
from terrasynth.models.metaearth.windows import WindowGrid

_CONDITION_MARGIN = 4  # condition pixels read around each window's footprint, for the encoder's context
SOLVER_STEPS = {"ddim": 50, "dpm++": 10}
"""Default steps per window of each solver: MetaEarth's 50 DDIM steps, and the fewest DPM-Solver++
steps whose canvases score as well against real tiles (benchmarks/solver_steps.py)."""


class ArrayLike(Protocol):
    """What inputs must offer: a ``shape`` and numpy-style slicing of the last two axes."""

    shape: tuple[int, ...]

    def __getitem__(self, key): ...


@dataclass(frozen=True)
class CanvasBand:
    """Finished canvas rows: reflectance, (C, rows, width) float32, starting at canvas row ``top``."""

    top: int
    data: np.ndarray


Progress = Callable[[float], None]
"""Called with the number of windows finished since the last call (fractions: windows x steps)."""


class UnboundedGenerator:
    """Generates a canvas of any size with one stage of the cascade.

    Like a diffusers pipeline it composes a model and a sampler and holds no weights of its own.

    Args:
        denoiser: the stage; it runs on its own device.
        window: window side in pixels (default: the tile size the stage was trained on).
        steps: sampling steps of every window (default: :data:`SOLVER_STEPS` of the solver;
            MetaEarth ran 50 DDIM steps).
        eta: DDIM noise scale; 0 (deterministic) is MetaEarth's choice.
        solver: ``ddim`` or ``dpm++`` (DPM-Solver++: deterministic, the same quality in fewer
            steps). Default: ``dpm++``, but ``ddim`` with ``average`` noise (strips stepped in
            lockstep) or ``eta`` above 0.
        noise: ``shared`` (MetaEarth), ``independent``, ``field`` or ``average`` (see
            :mod:`~terrasynth.models.metaearth.noise`). ``shared`` needs a spatial input (the
            condition or land cover): without one every window would be the same.
        seed: any int or tuple of ints.
        batch_size: windows per denoiser call.
        strength: 1 (MetaEarth) starts every window from pure noise; below 1, from its condition
            upsampled bicubically and noised to the level of the last ``steps * strength`` steps, which run
            (see :class:`~terrasynth.models.diffusion.DiffusionSampler`; later stages only). With
            ``average`` each half-window strip of the canvas starts from its condition so.
        autocast_dtype: e.g. ``torch.bfloat16`` to run the denoiser under autocast (GPUs).
        keep_layout: make each window's averages over its condition's pixels the condition, so that
            only the detail finer than those pixels is the model's (:func:`~terrasynth.models.
            metaearth.layout.take_layout`; later stages, not with ``average``).
    """

    def __init__(
        self,
        denoiser: MetaEarthDenoiser,
        *,
        window: int | None = None,
        steps: int | None = None,
        eta: float = 0.0,
        noise: str = "shared",
        seed: Hashable = 0,
        batch_size: int = 8,
        strength: float = 1.0,
        autocast_dtype: torch.dtype | None = None,
        solver: Solver | None = None,
        keep_layout: bool = False,
    ):
        solver = solver or ("ddim" if noise == "average" or eta > 0 else "dpm++")
        steps = SOLVER_STEPS.get(solver, 50) if steps is None else steps  # an unknown solver is refused below
        if noise not in NOISE_MODES:
            raise ConfigError(f"noise mode {noise!r} is unknown: use one of {', '.join(NOISE_MODES)}")
        if noise == "average" and solver != "ddim":
            raise ConfigError(
                f"average noise steps the canvas in lockstep, one DDIM step at a time: use the ddim "
                f"solver, or another noise mode with {solver}"
            )
        self.window = window or denoiser.config["window"]
        if self.window % denoiser.size_multiple or self.window % 4:
            raise ConfigError(
                f"window {self.window} px must be a multiple of {np.lcm(denoiser.size_multiple, 4)} for this model"
            )
        if batch_size < 1:
            raise ConfigError(f"batch size must be at least 1, got {batch_size}")
        if strength < 1 and not denoiser.conditioned:
            raise ConfigError("a strength below 1 starts from the condition: this stage generates from noise")
        if keep_layout and not denoiser.conditioned:
            raise ConfigError(
                "keeping the layout takes it from the condition: this stage generates from noise"
            )
        if keep_layout and noise == "average":
            raise ConfigError(
                "average noise steps the canvas in strips, not windows: keep the layout with another noise mode"
            )
        self.denoiser = denoiser.eval()
        self.keep_layout = keep_layout
        self.sampler = DiffusionSampler.for_model(denoiser, steps, eta, strength=strength, solver=solver)
        self.noise, self.seed, self.batch_size = noise, seed, batch_size
        self.autocast_dtype = autocast_dtype

    def grid(self, height: int, width: int) -> WindowGrid:
        """The windows over a canvas of ``height`` x ``width`` pixels."""
        return WindowGrid(height, width, self.window)

    def windows_needed(self, height: int, width: int, rows: tuple[int, int] | None = None) -> int:
        """How many windows :meth:`bands` runs for these canvas rows (the total of its progress)."""
        grid = self.grid(height, width)
        rows = _check_rows(rows, height)
        window_rows = (
            self._averaged_strips(grid, rows)[1] if self.noise == "average" else grid.window_rows_for(rows)
        )
        return len(window_rows) * grid.cols

    @torch.no_grad()
    def bands(
        self,
        height: int,
        width: int,
        *,
        gsd: float | None = None,
        condition: ArrayLike | None = None,
        condition_gsd: float | None = None,
        landcover: ArrayLike | None = None,
        landcover_gsd: float | None = None,
        origin: tuple[int, int] = (0, 0),
        rows: tuple[int, int] | None = None,
        progress: Progress | None = None,
    ) -> Iterator[CanvasBand]:
        """Generates the canvas and yields its rows top to bottom as they are finished.

        Every input is anchored at the canvas's top-left corner and may have its own resolution;
        where a window reaches past an input's edge, the edge pixels are repeated.

        Args:
            height, width: the canvas in pixels.
            gsd: metres per canvas pixel (default: the stage's training resolution).
            condition: low-resolution reflectance, (C, h, w) (later stages).
            condition_gsd: its metres per pixel (default: the stage's training condition).
            landcover: land-cover class codes, (h, w) (stages with a land-cover input; optional).
            landcover_gsd: its metres per pixel (default: ``gsd``).
            origin: global pixel (row, column) of the canvas's top-left corner on its ground
                grid; it keys the noise, so canvases of one grid share noise where they meet.
            rows: only generate canvas rows ``[start, stop)`` (one part of a split canvas).
            progress: called as windows finish.
        """
        grid = self.grid(height, width)
        rows = _check_rows(rows, height)
        if self.noise == "shared" and not self.denoiser.conditioned and landcover is None:
            raise ConfigError(
                "shared noise with nothing else to tell windows apart (no condition, no land cover) "
                "repeats one window across the canvas: give land cover, or use field or independent noise"
            )
        inputs = _WindowInputs(
            self.denoiser, self.window, gsd, condition, condition_gsd, landcover, landcover_gsd
        )
        progress = progress or (lambda _: None)
        if self.noise == "average":
            yield from self._averaged_bands(grid, rows, inputs, origin, progress)
        else:
            yield from self._windowed_bands(grid, rows, inputs, origin, progress)

    def _autocast(self) -> torch.autocast:
        """The denoiser's precision: autocast to :attr:`autocast_dtype`, or full precision."""
        return torch.autocast(
            self.denoiser.device.type, dtype=self.autocast_dtype, enabled=self.autocast_dtype is not None
        )

    def _denoise(self, x_t: torch.Tensor, t: torch.Tensor, **conditions) -> torch.Tensor:
        with self._autocast():
            return self.denoiser(x_t, t, **conditions).float()

    def _encoded(self, conditions: dict, window: int) -> dict:
        """``conditions`` of windows of ``window`` pixels with their condition's features, encoded
        once for every step (a later stage; the features equal those the denoiser would compute)."""
        if "condition" not in conditions:
            return conditions
        with self._autocast():
            features = self.denoiser.encode_condition(
                conditions["condition"],
                conditions["condition_gsd"],
                conditions["condition_box"],
                (window, window),
            )
        return conditions | {"condition_features": features}

    def _start(self, noise: torch.Tensor, upsampled: Callable[[], torch.Tensor]) -> torch.Tensor:
        """The first ``x`` of windows or strips: their noise, or (strength below 1) their condition
        upsampled onto them (``upsampled()``, only then computed) and noised."""
        return noise if self.sampler.strength == 1.0 else self.sampler.start(noise, upsampled())

    def _to_reflectance(self, x: torch.Tensor) -> np.ndarray:
        return self.denoiser.scaling.to_reflectance(x).float().cpu().numpy()

    def _windowed_bands(self, grid, rows, inputs, origin, progress) -> Iterator[CanvasBand]:
        stride, device = grid.stride, self.denoiser.device
        noise = WindowNoise(self.noise, self.seed, self.denoiser.config["channels"], grid.window)
        for row in grid.window_rows_for(rows):
            start, stop = _clip(grid.kept_rows(row), rows)
            band = np.empty((self.denoiser.config["channels"], stop - start, grid.width), np.float32)
            # batches never span window rows, so a row is computed alike in a whole or a split canvas
            for batch in _chunks(range(grid.cols), self.batch_size):
                positions = [(row * stride, col * stride) for col in batch]
                keys = [(origin[0] + top, origin[1] + left) for top, left in positions]
                fraction = len(batch) / self.sampler.steps
                conditions = self._encoded(inputs(positions), grid.window)
                upsampled = (
                    resample_onto(
                        conditions["condition"], conditions["condition_box"], (grid.window,) * 2, "bicubic"
                    )
                    if self.sampler.strength < 1
                    else None
                )
                x0 = self.sampler.sample(
                    self._denoise,
                    self.sampler.start(noise(keys).to(device), upsampled),  # the noise itself at strength 1
                    step_noise=lambda step, keys=keys: noise(keys, step).to(device),  # type: ignore[misc]  # python/mypy#15459
                    on_step=lambda _, fraction=fraction: progress(fraction),  # type: ignore[misc]  # python/mypy#15459
                    **conditions,
                )
                if self.keep_layout:
                    x0 = take_layout(x0, conditions["condition"], conditions["condition_box"])
                for col, (top, left), image in zip(batch, positions, self._to_reflectance(x0), strict=True):
                    c0, c1 = grid.kept_cols(col)
                    band[:, :, c0:c1] = image[:, start - top : stop - top, c0 - left : c1 - left]
            yield CanvasBand(start, band)

    def _averaged_strips(self, grid: WindowGrid, rows: tuple[int, int]) -> tuple[range, range]:
        """The strips and window rows the averaged mode computes for canvas ``rows``.

        A strip's final value depends on strips at most ``steps`` away (one per step), so
        computing that margin beyond the wanted rows makes a part of a canvas exact.
        """
        steps = self.sampler.steps
        first, last = rows[0] // grid.stride, (rows[1] - 1) // grid.stride
        strips = range(max(0, first - steps), min(grid.rows + 1, last + steps + 1))
        return strips, range(strips.start, strips.stop - 1)

    def _averaged_bands(self, grid, rows, inputs, origin, progress) -> Iterator[CanvasBand]:
        # Strip i holds canvas rows [i*s, (i+1)*s); window row k covers strips k and k+1. Strip i
        # takes step s (level s -> s+1) at wavefront time 2*s + i, after window rows i-1 (at time
        # 2*s + i - 1) and i (now) have predicted the noise at level s; by then strip i+1 is at
        # level s too, and no strip is needed at two levels at once.
        stride, window, steps, device = grid.stride, grid.window, self.sampler.steps, self.denoiser.device
        width = grid.padded_shape[1]
        field = NoiseField(self.seed, self.denoiser.config["channels"])

        def strip_noise(i: int, step: int = INITIAL) -> torch.Tensor:
            return field.region(origin[0] + i * stride, origin[1], stride, width, step).to(device)

        strips, window_rows = self._averaged_strips(grid, rows)
        a = strips.start
        cover = torch.zeros(width, device=device)
        for col in range(grid.cols):
            cover[col * stride : col * stride + window] += 1
        state: dict[int, torch.Tensor] = {}
        row_inputs: dict[int, dict] = {}
        created = a
        eps_before: dict[int, torch.Tensor] = {}
        for tau in range(2 * (steps - 1) + len(strips)):
            while created < min(strips.stop, a + tau + 2):
                upsampled = partial(inputs.upsampled_condition, created * stride, 0, stride, width)
                state[created] = self._start(strip_noise(created)[None], upsampled)[0]
                created += 1
            jobs = [(a + tau - 2 * s, s) for s in range(steps) if a + tau - 2 * s in strips]
            evaluate = [(k, s) for k, s in jobs if k in window_rows]
            for k, _ in evaluate:
                if k not in row_inputs:
                    row_inputs[k] = self._encoded(
                        inputs([(k * stride, col * stride) for col in range(grid.cols)]), window
                    )
            eps_now = self._predict_rows(evaluate, state, row_inputs, grid, cover, progress)
            for i, s in jobs:
                parts = [eps_before[i - 1][:, stride:]] if i - 1 in eps_before else []
                parts += [eps_now[i][:, :stride]] if i in eps_now else []
                eps = cast(torch.Tensor, sum(parts) / len(parts))[None]  # parts is never empty
                noise = strip_noise(i, s)[None] if self.sampler.stochastic else None
                state[i] = self.sampler.step(eps, self.sampler.timesteps[s], state[i][None], noise=noise)[0]
                if s == steps - 1:  # strip i is finished
                    row_inputs.pop(i, None)
                    finished = state.pop(i)
                    start, stop = _clip((i * stride, (i + 1) * stride), rows)
                    if start < stop:
                        top = start - i * stride
                        yield CanvasBand(
                            start, self._to_reflectance(finished[:, top : top + stop - start, : grid.width])
                        )
            eps_before = eps_now

    def _predict_rows(self, evaluate, state, row_inputs, grid, cover, progress) -> dict[int, torch.Tensor]:
        """Noise predictions of whole window rows at their levels, averaged across columns: (C, window, width)."""
        stride, window = grid.stride, grid.window
        eps_rows = {}
        for k, s in evaluate:
            rows_x = torch.cat((state[k], state[k + 1]), dim=1)
            total = torch.zeros_like(rows_x)
            for batch in _chunks(range(grid.cols), self.batch_size):
                x = torch.stack([rows_x[:, :, c * stride : c * stride + window] for c in batch])
                t = torch.full((len(batch),), self.sampler.timesteps[s], device=x.device)
                conditions = _select(row_inputs[k], batch.start, batch.stop)
                for c, eps in zip(batch, self._denoise(x, t, **conditions), strict=True):
                    total[:, :, c * stride : c * stride + window] += eps
                progress(len(batch) / self.sampler.steps)
            eps_rows[k] = total / cover
        return eps_rows


class _WindowInputs:
    """Reads the conditions of windows (given by their top-left canvas pixels) from canvas-wide inputs."""

    def __init__(self, denoiser, window, gsd, condition, condition_gsd, landcover, landcover_gsd):
        config = denoiser.config
        self.window, self.device, self.scaling = window, denoiser.device, denoiser.scaling
        self.gsd = float(gsd or config.gsd)
        if denoiser.conditioned and condition is None:
            raise ConfigError("this stage refines a low-resolution image: give one as the condition")
        if not denoiser.conditioned and condition is not None:
            raise ConfigError("this stage generates from noise: it takes no low-resolution condition")
        if condition is not None and (len(condition.shape) != 3 or condition.shape[0] != config.channels):
            raise ConfigError(
                f"condition must be (bands, rows, columns) with {config.channels} bands, got shape {tuple(condition.shape)}"
            )
        if landcover is not None and not denoiser.uses_landcover:
            raise ConfigError("this stage takes no land cover: leave it out")
        if landcover is not None and len(landcover.shape) != 2:
            raise ConfigError(f"land cover must be (rows, columns), got shape {tuple(landcover.shape)}")
        self.condition, self.landcover = condition, landcover
        self.condition_gsd = None if condition is None else float(condition_gsd or config.condition_gsd)
        self.landcover_gsd = float(landcover_gsd or self.gsd)

    def __call__(self, positions: Sequence[tuple[int, int]]) -> dict:
        conditions: dict = {"gsd": self.gsd}
        if self.condition is not None:
            crops, boxes = zip(
                *(self._condition_crop(top, left, self.window, self.window) for top, left in positions),
                strict=True,
            )
            conditions |= {
                "condition": torch.cat(crops),
                "condition_gsd": self.condition_gsd,
                "condition_box": torch.tensor(boxes, dtype=torch.float32, device=self.device),
            }
        if self.landcover is not None:
            scale = self.gsd / self.landcover_gsd
            offsets = np.arange(self.window) + 0.5
            maps = [
                _gather(
                    self.landcover,
                    np.floor((top + offsets) * scale).astype(int),
                    np.floor((left + offsets) * scale).astype(int),
                )
                for top, left in positions
            ]
            conditions["landcover"] = torch.from_numpy(np.stack(maps).astype(np.int64)).to(self.device)
        return conditions

    def upsampled_condition(self, top: int, left: int, height: int, width: int) -> torch.Tensor:
        """The condition in model space, bicubic on the canvas pixels ``[top, top + height)`` x
        ``[left, left + width)``: (1, C, height, width), equal to a window's upsampled condition
        where they overlap."""
        crop, box = self._condition_crop(top, left, height, width)
        return resample_onto(crop, torch.tensor([box], device=self.device), (height, width), "bicubic")

    def _condition_crop(self, top: int, left: int, height: int, width: int) -> tuple[torch.Tensor, tuple]:
        """The condition (model space, (1, C, h, w)) around a canvas box, with the box in its pixels."""
        scale = self.gsd / self.condition_gsd  # condition pixels per canvas pixel
        y0, x0 = top * scale, left * scale
        r0, c0 = int(np.floor(y0)) - _CONDITION_MARGIN, int(np.floor(x0)) - _CONDITION_MARGIN
        rows = np.arange(r0, r0 + int(np.ceil(height * scale)) + 2 * _CONDITION_MARGIN + 1)
        cols = np.arange(c0, c0 + int(np.ceil(width * scale)) + 2 * _CONDITION_MARGIN + 1)
        crop = self.scaling.to_model(_gather(self.condition, rows, cols).astype(np.float32))
        box = (y0 - r0, x0 - c0, y0 - r0 + height * scale, x0 - c0 + width * scale)
        return torch.from_numpy(crop)[None].to(self.device), box


def _gather(array: ArrayLike, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """``array[..., rows, :][..., cols]`` with indices clamped to the array (edges repeat); one read."""
    rows = np.clip(rows, 0, array.shape[-2] - 1)
    cols = np.clip(cols, 0, array.shape[-1] - 1)
    r0, c0 = rows.min(), cols.min()
    block = np.asarray(array[..., r0 : rows.max() + 1, c0 : cols.max() + 1])
    return np.take(np.take(block, rows - r0, axis=-2), cols - c0, axis=-1)


def _chunks(items: range, size: int) -> Iterator[range]:
    for first in range(0, len(items), size):
        yield items[first : first + size]


def _select(conditions: dict, start: int, stop: int) -> dict:
    """The conditions of windows ``start:stop`` out of a batch's."""
    return {k: v[start:stop] if isinstance(v, torch.Tensor) else v for k, v in conditions.items()}


def _clip(span: tuple[int, int], rows: tuple[int, int]) -> tuple[int, int]:
    return max(span[0], rows[0]), max(min(span[1], rows[1]), rows[0])


def _check_rows(rows: tuple[int, int] | None, height: int) -> tuple[int, int]:
    if rows is None:
        return 0, height
    start, stop = rows
    if not 0 <= start < stop <= height:
        raise ConfigError(f"rows {start}:{stop} are not within the canvas's {height} rows")
    return int(start), int(stop)
