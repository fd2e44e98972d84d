"""Generate a canvas of any size with a MetaEarth cascade, streamed window by window to a GeoTIFF.

From noise (``--size``), or from a low-resolution GeoTIFF (``--from``): the output covers the
input's footprint, in its CRS, at the finest stage's resolution. Every stage writes its canvas
to a GeoTIFF in whole rows of tiles as they finish (:mod:`~terrasynth.core.canvas_rasters`)
and the next stage reads its condition back window by window, so memory stays bounded whatever
the size. The output is checked before anything runs (writable, room on its disk) and written
under a temporary name, renamed once complete; a failure or Ctrl-C leaves nothing.
"""

from __future__ import annotations

import contextlib
import math
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from terrasynth.models.metaearth.cascade import StagePlan


@dataclass(frozen=True)
class GenerationSummary:
    """What :func:`generate` wrote."""

    path: Path
    shape: tuple[int, int, int]
    gsd: float
    crs: str | None
    stages: list[int]
    seconds: float
    blocks: int = 0
    """Blocks computed in this run (with a scheduler)."""
    resumed: int = 0
    """Blocks found finished by an earlier run and not computed again."""
    runner: str = "this process"

    @property
    def megapixels_per_second(self) -> float:
        return self.shape[1] * self.shape[2] / 1e6 / self.seconds


def load_stages(checkpoints: Sequence[str | Path]):
    """The stages saved in the model folders ``checkpoints`` (``MetaEarthDenoiser.from_pretrained``)."""
    from terrasynth.models.metaearth import MetaEarthDenoiser

    return [MetaEarthDenoiser.from_pretrained(path) for path in checkpoints]


def generate(
    checkpoints: Sequence[str | Path],
    out: str | Path,
    *,
    size: tuple[int, int] | None = None,
    from_path: str | Path | None = None,
    from_gsd: float | None = None,
    from_scale: float | None = None,
    landcover: str | Path | None = None,
    gsd: float | None = None,
    seed: int = 0,
    noise: str = "shared",
    steps: int | None = None,
    eta: float = 0.0,
    strength: float = 1.0,
    window: int | None = None,
    batch_size: int = 8,
    solver: str | None = None,
    keep_layout: bool = False,
    device: str | None = None,
    overwrite: bool = False,
    show_progress: bool = True,
    scheduler: str | None = None,
    block: int | None = None,
    resources: dict[str, float] | None = None,
    torch_threads: int | None = None,
) -> GenerationSummary:
    """Runs a cascade and writes the finest canvas to a GeoTIFF (uint16 reflectance x 1e4).

    Before any window runs, the output is checked (writable, not an existing file unless
    ``overwrite``, room on its disk for the canvas and the coarser stages' scratch files) and, with
    ``show_progress``, the size is stated; the estimated time follows once the first windows are done.

    Args:
        checkpoints: the stages, coarse to fine (one for a single stage, or one model of several).
        out: the GeoTIFF to write.
        size: the output (rows, columns); default with ``from_path``: its footprint.
        from_path: a low-resolution GeoTIFF of reflectance to start from; it feeds the first stage
            that refines an image, and the output is georeferenced like it. Its missing pixels (NaN,
            nodata) take their nearest valid neighbour's value; more than 1 % missing is refused.
        from_gsd: its metres per pixel (default: from its transform; needs a projected CRS).
        from_scale: stored value x this = reflectance (default: the file's scale if it has one,
            else 1e-4 for integer rasters, 1 for floating point ones).
        landcover: a GeoTIFF of land-cover class codes (WorldCover) for a first stage that takes
            them; anchored at the canvas's top-left corner. Without ``from_path`` the output is
            georeferenced like it and covers its footprint unless ``size`` says otherwise.
        gsd: the resolution to stop at, metres per pixel (default: the finest stage's). The first
            stage is the one that generates from noise, or with ``from_path`` the one trained on
            the resolution nearest the file's.
        seed, noise, steps, eta, strength, window, batch_size, solver, keep_layout: see
            :class:`~terrasynth.models.metaearth.UnboundedGenerator`.
        device: ``"cpu"``, ``"cuda"``... (default: a GPU when there is one; then bf16 autocast).
        overwrite: replace an existing ``out`` (and, with a scheduler, start its store over).
        scheduler: run the canvas in blocks (see :mod:`~terrasynth.workflows.canvas_blocks`) on a
            local Dask cluster (``"local"``), on the running cluster at an address
            (``"tcp://host:8786"``; the output folder and the inputs must be reachable from its
            workers) or in this process (``"threads"``), writing every level into the store
            ``canvas.zarr`` beside ``out`` (:mod:`~terrasynth.core.canvas_store`), and ``out``
            from it at the end. A rerun of a killed run resumes it; ``None``: one process, no store.
        block: window strides per block (default: 16; with ``average`` noise at least ``4 * steps``).
        resources: Dask worker resources every block needs, e.g. ``{"GPU": 1}``.
        torch_threads: torch threads in each worker (default: 1 on the local cluster of a
            machine without GPU, else as the worker has it).
    """
    import rasterio
    import torch
    from affine import Affine

    from terrasynth.core import canvas_rasters as rasters
    from terrasynth.core.corpus import REFLECTANCE_SCALE
    from terrasynth.core.errors import ConfigError
    from terrasynth.core.outputs import atomic_path, check_free_space, check_output, format_bytes
    from terrasynth.models.metaearth import Cascade
    from terrasynth.workflows.devices import torch_device
    from terrasynth.workflows.progress import progress_bar

    out = check_output(out, overwrite=overwrite)
    # with a scheduler the stages only plan here; the workers run them on their own devices
    target = torch.device("cpu") if scheduler is not None else torch_device(device)
    device_type = target.type
    cascade = Cascade([stage.to(target) for stage in load_stages(checkpoints)])
    options: dict[str, Any] = {
        "window": window, "steps": steps, "eta": eta, "strength": strength, "noise": noise, "batch_size": batch_size,
        "solver": solver, "keep_layout": keep_layout,
    }  # fmt: skip
    autocast = {"autocast_dtype": torch.bfloat16} if device_type == "cuda" else {}
    # the options checked before any file is touched (the stages run then are checked again in plan())
    sampler = cascade.generator(0, **options).sampler
    for index in range(1, len(cascade.stages)):
        cascade.generator(index, **options)

    with contextlib.ExitStack() as stack:
        stack.enter_context(rasterio.Env())
        condition, crs, origin_m, start, missing = None, None, (0.0, 0.0), 0, 0
        if from_path is not None:
            source = stack.enter_context(rasters.open_raster(from_path))
            condition = rasters.RasterArray(source, rasters.reflectance_scale(source, from_scale))
            from_gsd = from_gsd or _pixel_size(source)
            crs, origin_m = source.crs, (source.transform.c, source.transform.f)
            start = cascade.start_for(from_gsd)  # the stage trained nearest its resolution
            missing = rasters.check_missing(source)
        elif cascade.stages[0].conditioned:
            raise ConfigError("the first stage refines a low-resolution image: give one with --from")
        stop = None if gsd is None else cascade.stop_for(gsd)
        landcover_gsd, landcover_array = None, None
        if landcover is not None:
            if not cascade.stages[start].uses_landcover:
                raise ConfigError(f"stage {start} takes no land cover: leave out --landcover")
            codes = stack.enter_context(rasters.open_raster(landcover))
            landcover_gsd = _pixel_size(codes)
            if from_path is None:
                crs, origin_m = codes.crs, (codes.transform.c, codes.transform.f)
                size = size or tuple(
                    math.floor(n * landcover_gsd / cascade.gsds[-1 if stop is None else stop])
                    for n in codes.shape
                )
            landcover_array = rasters.RasterArray(codes, band=1)
        plans = cascade.plan(
            size,
            start=start,
            stop=stop,
            condition_shape=None if condition is None else condition.shape,
            condition_gsd=from_gsd,
            origin_m=origin_m,
            **options,
        )
        if scheduler is not None:
            return _generate_in_blocks(
                [str(Path(c).absolute()) for c in checkpoints], out, cascade, plans, stack, scheduler,
                condition=condition, missing=missing, crs=crs, origin_m=origin_m, from_gsd=from_gsd,
                landcover=None if landcover_array is None else (str(Path(landcover_array.dataset.name).absolute()), landcover_gsd),
                seed=seed, options=options, block=block, resources=resources, torch_threads=torch_threads,
                device=device, overwrite=overwrite, show_progress=show_progress,
            )  # fmt: skip
        final, channels = plans[-1], cascade.stages[-1].config["channels"]
        scratch_bytes = sum(
            4 * cascade.stages[p.index].config["channels"] * math.prod(p.shape) for p in plans[:-1]
        )
        if missing and condition is not None:  # only a --from input has missing pixels
            scratch_bytes += 4 * math.prod(condition.shape)
        output_bytes = 2 * channels * math.prod(final.shape)
        rows, cols = final.shape
        check_free_space(out, output_bytes + scratch_bytes, f"{cols} x {rows} px, {channels} bands")
        windows = sum(plan.windows for plan in plans)

        partial = stack.enter_context(atomic_path(out))
        scratch = Path(
            stack.enter_context(tempfile.TemporaryDirectory(prefix=".terrasynth-", dir=out.parent))
        )
        if missing and condition is not None:
            condition = rasters.filled_copy(condition, scratch / "condition.tif", stack)

        def store(plan, channels):
            """The final stage goes to the output (uint16 x 1e4), the others to scratch files (float32),
            each in whole rows of tiles."""
            last = plan.index == final.index
            transform = Affine(plan.gsd, 0, origin_m[0], 0, -plan.gsd, origin_m[1])
            profile = rasters.canvas_profile(plan.shape, channels, crs, transform, final=last)
            dataset = stack.enter_context(
                rasterio.open(partial if last else scratch / f"stage{plan.index}.tif", "w+", **profile)
            )
            if last:
                dataset.scales = [REFLECTANCE_SCALE] * channels
            return rasters.TileRows(
                rasters.RasterArray(dataset, REFLECTANCE_SCALE if last else 1.0), rasters.TILE
            )

        began = time.perf_counter()
        with progress_bar(show_progress) as progress:
            if show_progress:
                progress.console.print(
                    f"Generating {cols} x {rows} px ({rows * cols / 1e6:,.1f} MP, {channels} bands at {final.gsd:g} m) "
                    f"in {len(plans)} stage(s), {windows:,} windows of {sampler.steps} {sampler.solver} steps: up to "
                    f"{format_bytes(output_bytes)} in {out}"
                    + (f" and {format_bytes(scratch_bytes)} of scratch files" if scratch_bytes else "")
                )
            tasks = {
                plan.index: progress.add_task(
                    f"stage {plan.index}: {plan.shape[1]} x {plan.shape[0]} px at {plan.gsd:g} m, windows",
                    total=plan.windows,
                )
                for plan in plans
            }
            pace = _Pace(windows, progress.console.print if show_progress else None)

            def advance(plan, n):
                progress.advance(tasks[plan.index], n)
                pace.advance(n)

            cascade.generate(
                size,
                start=start,
                stop=stop,
                condition=condition,
                condition_gsd=from_gsd,
                landcover=landcover_array,
                landcover_gsd=landcover_gsd,
                origin_m=origin_m,
                seed=seed,
                store=store,
                progress=advance,
                **options,
                **autocast,
            )
    return GenerationSummary(
        out,
        (channels, *final.shape),
        final.gsd,
        None if crs is None else crs.to_string(),
        [plan.index for plan in plans],
        time.perf_counter() - began,
    )


def _generate_in_blocks(
    checkpoints,
    out,
    cascade,
    plans: list[StagePlan],
    stack,
    scheduler,
    *,
    condition,
    missing,
    crs,
    origin_m,
    from_gsd,
    landcover,
    seed,
    options,
    block,
    resources,
    torch_threads,
    device,
    overwrite,
    show_progress,
) -> GenerationSummary:
    """:func:`generate` with a scheduler: the canvas in blocks into its store, then ``out`` from it."""
    import dataclasses

    import torch

    from terrasynth.core import canvas_rasters as rasters
    from terrasynth.core.canvas_store import CanvasStore, LevelGrid
    from terrasynth.core.levels import Level
    from terrasynth.core.outputs import atomic_path, check_free_space, format_bytes
    from terrasynth.workflows import canvas_blocks as blocks
    from terrasynth.workflows.dask_cluster import blocks_in_progress, worker_torch_threads

    generators = {plan.index: cascade.generator(plan.index, plans[-1].index, **options) for plan in plans}
    levels = {plan.index: Level(plan.gsd).name for plan in plans}
    rows = {
        i: blocks.block_rows(g.window, options["noise"], options["steps"], block)
        for i, g in generators.items()
    }
    grids = [
        LevelGrid(levels[p.index], p.gsd, p.shape, rows[p.index], cascade.stages[p.index].config.channels)
        for p in plans
    ]
    source = None
    if condition is not None:
        source = Level(from_gsd).name
        grids.insert(0, LevelGrid(source, from_gsd, tuple(condition.shape[1:]), 1024, condition.shape[0]))
    final, channels = plans[-1], grids[-1].channels
    store_bytes = sum(4 * g.channels * g.shape[0] * g.shape[1] for g in grids)
    output_bytes = 2 * channels * final.shape[0] * final.shape[1]
    height, width = final.shape
    store = CanvasStore(blocks.store_path(out), crs, origin_m)
    job = {
        "checkpoints": checkpoints, "seed": seed, "options": options, "landcover": landcover,
        "plans": [dataclasses.asdict(plan) for plan in plans], "levels": [dataclasses.asdict(g) for g in grids],
        "crs": None if crs is None else crs.to_string(), "origin_m": list(origin_m),
    }  # fmt: skip
    if not (store.path.exists() and not overwrite):
        check_free_space(
            out, output_bytes + store_bytes, f"{width} x {height} px, {channels} bands, and its store"
        )
    resumed = store.open(job, grids, overwrite=overwrite)
    if source is not None and (source, 0) not in store.finished():
        if missing:
            scratch = Path(
                stack.enter_context(tempfile.TemporaryDirectory(prefix=".terrasynth-", dir=out.parent))
            )
            condition = rasters.filled_copy(condition, scratch / "condition.tif", stack)
        store.copy_input(source, condition)
        store.mark(source, 0)
    done = store.finished()
    all_blocks = {p.index: blocks.stage_blocks(p, levels[p.index], rows[p.index]) for p in plans}
    pending = {i: [b for b in stage if (b.level, b.index) not in done] for i, stage in all_blocks.items()}
    windows = {
        (p.index, b.index): generators[p.index].windows_needed(*p.shape, rows=(b.top, b.bottom))
        for p in plans
        for b in all_blocks[p.index]
    }
    gpus = torch.cuda.device_count()
    if torch_threads is None:
        torch_threads = worker_torch_threads(scheduler, gpus)
    task = blocks.CanvasJob(
        str(store.path), tuple(checkpoints), levels, source, seed, options, landcover, device, torch_threads
    )
    began = time.perf_counter()
    with blocks_in_progress(scheduler, show_progress, resources=resources, gpus=gpus) as (progress, runner):
        left = sum(windows[p.index, b.index] for p in plans for b in pending[p.index])
        if show_progress:
            progress.console.print(
                f"Generating {width} x {height} px ({height * width / 1e6:,.1f} MP, {channels} bands at "
                f"{final.gsd:g} m) in {len(plans)} stage(s), {sum(map(len, all_blocks.values()))} blocks "
                f"({sum(map(len, pending.values()))} to compute{', resuming' if resumed else ''}) on {runner.description}: "
                f"up to {format_bytes(store_bytes)} in {store.path} and {format_bytes(output_bytes)} in {out}"
            )
        tasks = {
            p.index: progress.add_task(
                f"stage {p.index}: {p.shape[1]} x {p.shape[0]} px at {p.gsd:g} m, blocks",
                total=len(all_blocks[p.index]),
                completed=len(all_blocks[p.index]) - len(pending[p.index]),
            )
            for p in plans
        }
        pace = _Pace(left, progress.console.print if show_progress else None)

        def finished(plan, done_block):
            progress.advance(tasks[plan.index])
            pace.advance(windows[plan.index, done_block.index])

        blocks.run_stages(task, plans, pending, runner.executor, finished)
    with atomic_path(out) as partial:
        rasters.write_canvas(store.image(levels[final.index]), partial, crs, store.transform(final.gsd))
    return GenerationSummary(
        out, (channels, *final.shape), final.gsd, None if crs is None else crs.to_string(),
        [plan.index for plan in plans], time.perf_counter() - began,
        sum(map(len, pending.values())), sum(len(all_blocks[i]) - len(pending[i]) for i in pending), runner.description,
    )  # fmt: skip


class _Pace:
    """States, once, the time a run of ``windows`` windows will take at the pace of its first ones
    (measured over at least ``after`` seconds, or the whole run when it is shorter)."""

    def __init__(self, windows: int, say, after: float = 5.0):
        self.windows, self.say, self.after = windows, say, after
        self.done, self.began = 0.0, time.perf_counter()

    def advance(self, windows: float) -> None:
        self.done += windows
        elapsed = time.perf_counter() - self.began
        if self.say is not None and elapsed >= self.after and self.done < self.windows:
            left = elapsed * (self.windows / self.done - 1)
            self.say(
                f"Estimated time left: {_duration(left)} at the pace of the first {elapsed:.0f} s (Ctrl-C stops)."
            )
            self.say = None


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:,.0f} h"


def _pixel_size(dataset) -> float:
    from terrasynth.core.errors import ConfigError

    t = dataset.transform
    if dataset.crs is None or not dataset.crs.is_projected:
        raise ConfigError(
            f"{dataset.name} is not in a projected CRS (metres): give its resolution with --from-gsd"
        )
    if t.b or t.d or not math.isclose(abs(t.a), abs(t.e), rel_tol=1e-6):
        raise ConfigError(f"{dataset.name} needs square, north-up pixels: warp it first (e.g. gdalwarp -tr)")
    return abs(t.a) * dataset.crs.linear_units_factor[1]
