"""A cascade's canvas cut into blocks that Dask workers (or this process) generate independently.

A block is a band of whole window strides across the full width of a stage's canvas: the
generator computes the margin it needs around it (the window rows whose kept parts reach into it;
with ``average`` noise, ``steps`` half-window strips above and below, the halo a strip's final
value depends on) and keeps only the block's rows. Its noise is keyed by (seed, location) and its
batches never span window rows, so a block comes out as the same rows of the whole canvas
(bit-identical in one process; across processes as far as their float arithmetic agrees, see
:mod:`~terrasynth.models.metaearth.unbounded`). Bands span the full width because a window row's
batches run across it: cutting columns would regroup the batches and change the arithmetic.

The cascade runs stage by stage: every block of a stage is written to the store
(:class:`~terrasynth.core.canvas_store.CanvasStore`) before the next stage starts, reading
its condition back from that level. Block-wise with halos (each block running every stage on its
own footprint) would have every block recompute the coarser stages under its margins, twice
``steps`` strips per stage with ``average`` noise, and would keep no level but the last; stage by
stage computes every pixel of every level once and keeps every level, at the cost of one
barrier per stage where the last blocks of a stage hold up the first ones of the next.

Each worker loads the models once (:func:`worker_cascade`, a per-process cache keyed by the
checkpoint paths and device) and reuses them for every block it runs.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, as_completed
from dataclasses import dataclass
from pathlib import Path

from terrasynth.models.metaearth.cascade import StagePlan

DEFAULT_BLOCK = 16
"""Window strides per block (windowed noise modes)."""


@dataclass(frozen=True)
class Block:
    """Canvas rows ``[top, bottom)`` of one stage, the ``index``-th block of its level."""

    level: str
    index: int
    top: int
    bottom: int


@dataclass(frozen=True)
class CanvasJob:
    """What a worker needs to generate any block of a run: paths and settings, no weights.

    Attributes:
        store: the canvas store (reachable from every worker).
        checkpoints: the stages' model folders, coarse to fine.
        levels: the store's level name of each plan's stage, by stage index; ``input`` names
            the low-resolution input's level (``None``: the first stage draws from noise).
        seed: the run's seed.
        options: :class:`~terrasynth.models.metaearth.UnboundedGenerator` options (no autocast).
        landcover: a GeoTIFF of land-cover codes for the first stage, and its metres per pixel.
        device: the worker's device (default: a GPU when it has one, then bf16 autocast).
        torch_threads: ``torch.set_num_threads`` in the worker (default: left as it is).
    """

    store: str
    checkpoints: tuple[str, ...]
    levels: dict[int, str]
    input: str | None
    seed: int
    options: dict
    landcover: tuple[str, float] | None = None
    device: str | None = None
    torch_threads: int | None = None


def block_rows(window: int, noise: str, steps: int, block: int | None = None) -> int:
    """Canvas rows of a block: ``block`` window strides (default :data:`DEFAULT_BLOCK`; with
    ``average`` noise at least ``4 * steps``, so that the halo of ``steps`` strips on each side
    costs at most half the block again)."""
    if block is None:
        block = max(DEFAULT_BLOCK, 4 * steps) if noise == "average" else DEFAULT_BLOCK
    if block < 1:
        from terrasynth.core.errors import ConfigError

        raise ConfigError(f"a block must be at least 1 window stride high, got {block}")
    return block * (window // 2)


def stage_blocks(plan: StagePlan, level: str, rows: int) -> list[Block]:
    """The blocks of ``rows`` canvas rows (the last one shorter) covering a stage's canvas."""
    height = plan.shape[0]
    return [Block(level, i, top, min(top + rows, height)) for i, top in enumerate(range(0, height, rows))]


@functools.lru_cache(maxsize=2)
def worker_cascade(checkpoints: tuple[str, ...], device: str | None):
    """The cascade of ``checkpoints`` on ``device``, loaded once per process."""
    from terrasynth.models.metaearth import Cascade
    from terrasynth.workflows.devices import torch_device
    from terrasynth.workflows.generate import load_stages

    target = torch_device(device)
    return Cascade([stage.to(target) for stage in load_stages(checkpoints)])


def run_block(job: CanvasJob, plan: StagePlan, block: Block) -> Block:
    """Generate ``block`` of ``plan``'s stage, write its rows into the store and record it."""
    import contextlib

    import torch

    from terrasynth.core import canvas_rasters as rasters
    from terrasynth.core.canvas_store import CanvasStore

    if job.torch_threads:
        torch.set_num_threads(job.torch_threads)
    cascade = worker_cascade(job.checkpoints, job.device)
    stage = cascade.stages[plan.index]
    options = dict(job.options)
    if stage.device.type == "cuda":
        options["autocast_dtype"] = torch.bfloat16
    store = CanvasStore(job.store)
    first = plan.index == min(job.levels)
    source = job.input if first else job.levels[plan.index - 1]
    with contextlib.ExitStack() as stack:
        landcover, landcover_gsd = None, None
        if first and job.landcover and stage.uses_landcover:
            codes = stack.enter_context(rasters.open_raster(job.landcover[0]))
            landcover, landcover_gsd = rasters.RasterArray(codes, band=1), job.landcover[1]
        canvas = store.image(block.level, "r+")
        generator = cascade.generator(plan.index, max(job.levels), seed=(job.seed, plan.index), **options)
        for band in generator.bands(
            *plan.shape,
            gsd=plan.gsd,
            condition=None if source is None else store.image(source),
            condition_gsd=plan.condition_gsd,
            landcover=landcover,
            landcover_gsd=landcover_gsd,
            origin=plan.origin,
            rows=(block.top, block.bottom),
        ):
            canvas[:, band.top : band.top + band.data.shape[1], :] = band.data
    store.mark(block.level, block.index)
    return block


def run_stages(
    job: CanvasJob,
    plans: Sequence[StagePlan],
    blocks: dict[int, list[Block]],
    executor: Executor,
    on_block: Callable[[StagePlan, Block], None] = lambda plan, block: None,
) -> None:
    """Run ``blocks`` (by stage index) on ``executor``, stage by stage: a stage's blocks all finish
    before the next stage's start. The first failure cancels the blocks not yet started and is
    raised; finished blocks stay recorded."""
    for plan in plans:
        futures = [executor.submit(run_block, job, plan, block) for block in blocks[plan.index]]
        try:
            for future in as_completed(futures):
                on_block(plan, future.result())
        except BaseException:
            for future in futures:
                future.cancel()
            raise


def store_path(out: str | Path) -> Path:
    """The store of the canvas GeoTIFF ``out``: ``canvas.tif`` -> ``canvas.zarr`` beside it."""
    out = Path(out)
    return out.with_name(out.stem + ".zarr")
