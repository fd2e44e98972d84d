"""Change synthesis sharded over Dask workers by series number, resumable.

A shard is the series numbers ``[first, first + batch_size)``: the same groups a one-process run
draws together, so each series is drawn with the same arithmetic. Every draw is keyed by the seed
and the series number (:class:`~terrasynth.workflows.synthesize.SeriesDrawing`), so shards can run
in any order on any worker. The drawing (model and source tiles) reaches each worker once, and its
model moves to the worker's device on the first shard.

The output is filled under its temporary name (``.<out>.partial``) as in a one-process run, and
a manifest beside it (:class:`~terrasynth.core.shard_manifest.ShardManifest`: the job's settings,
then a marker per finished shard holding its series' consistency figures) makes a rerun of the same
command skip the finished shards, and refuses one with other settings. PNG pairs are written by
the worker that drew them (their names are their series numbers). The ``series`` layout's Zarr
store grows by appending, so the workers return its series and this process appends them in order,
recording a shard only once appended (a store that a kill left longer than its manifest says is
cut back on resuming). Once every shard is in, the STAC collection is written and the folder
renamed, as a one-process run does: the same files.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import torch
import zarr

from terrasynth.core.outputs import partial_path
from terrasynth.core.shard_manifest import ShardManifest
from terrasynth.models.changen2 import consistency
from terrasynth.workflows.synthesize import SeriesDrawing, SynthesisSummary


def run_shard(
    drawing: SeriesDrawing, writer_class, out: str | Path, numbers: range, torch_threads: int | None = None
) -> tuple[list[dict], list | None]:
    """Draw the series ``numbers``; write their pairs (recording the shard), or return the series
    for this process to append (the ``series`` layout). Returns their consistency figures and that.
    ``torch_threads``: ``torch.set_num_threads`` first (default: as the worker has it)."""
    if torch_threads:
        torch.set_num_threads(torch_threads)
    series = drawing.series(numbers)
    figures = [consistency(drawn, torch.from_numpy(sequence.changes)) for _, drawn, sequence in series]
    if drawing.layout == "series":
        return figures, series
    writer = writer_class(out, keep=True)
    for n, drawn, sequence in series:
        drawing.write(writer, n, drawn, sequence)
    ShardManifest(writer.stage).mark(numbers.start, figures)
    return figures, None


def synthesize_in_shards(
    drawing: SeriesDrawing,
    writer_class,
    out: Path,
    provenance: dict,
    n_series: int,
    batch_size: int,
    scheduler: str,
    resources: dict[str, float] | None,
    show_progress: bool,
) -> SynthesisSummary:
    """:func:`~terrasynth.workflows.synthesize.synthesize` with a scheduler (see the module docstring)."""
    from concurrent.futures import as_completed

    from terrasynth.workflows.dask_cluster import blocks_in_progress, worker_torch_threads

    stage = partial_path(out)
    manifest = ShardManifest(stage)
    job = {
        "properties": provenance, "layout": drawing.layout, "pairs": drawing.pairs, "batch_size": batch_size,
        "gsd": drawing.gsd, "appearance": repr(drawing.appearance),
    }  # fmt: skip
    if not stage.is_dir():
        manifest.remove()  # markers of shards whose files are gone
    resuming = manifest.resumes(job)
    writer = writer_class(out, properties=provenance, keep=resuming)
    done = manifest.finished()
    if drawing.layout == "series":
        writer.count = _cut_series_store(stage / writer.store, sum(len(f) for f in done.values()))
    shards = [range(first, min(first + batch_size, n_series)) for first in range(0, n_series, batch_size)]
    pending = [shard for shard in shards if shard.start not in done]
    gpus = torch.cuda.device_count()
    threads = worker_torch_threads(scheduler, gpus)
    began = time.perf_counter()
    with blocks_in_progress(scheduler, show_progress, resources=resources, gpus=gpus) as (progress, runner):
        task = progress.add_task(
            f"{n_series} series in shards of {batch_size} on {runner.description}",
            total=len(shards),
            completed=len(shards) - len(pending),
        )
        shared = runner.share(drawing)
        futures = {
            runner.executor.submit(run_shard, shared, writer_class, out, s, threads): s for s in pending
        }
        held = {}  # series layout: drawn shards waiting for the ones before them
        try:
            for future in as_completed(futures):
                figures, series = future.result()
                if series is not None:
                    held[futures[future].start] = (figures, series)
                    while (first := min(set(held) | {n_series})) < n_series and _all_before(
                        first, done, shards
                    ):
                        figures, series = held.pop(first)
                        for n, drawn, sequence in series:
                            drawing.write(writer, n, drawn, sequence)
                        manifest.mark(first, figures)
                        done[first] = figures
                else:
                    done[futures[future].start] = figures
                progress.advance(task)
        except BaseException:
            for future in futures:
                future.cancel()
            raise
    measured = [figures for first in sorted(done) for figures in done[first]]
    summary = drawing.summary(out, n_series, measured, time.perf_counter() - began)
    if drawing.layout != "series":
        writer.count = summary.pairs  # the workers wrote them
    writer.close()
    manifest.remove()
    return summary


def _all_before(first: int, done: dict, shards: list[range]) -> bool:
    return all(shard.start in done for shard in shards if shard.start < first)


def _cut_series_store(path: Path, series: int) -> int:
    """Cut the series store back to its first ``series`` series (the ones recorded); returns that."""
    if not path.exists():
        return 0
    if series == 0:
        shutil.rmtree(path)
        return 0
    group = zarr.open_group(str(path), mode="r+")
    for _, array in group.arrays():
        if array.shape[0] > series:
            array.resize((series, *array.shape[1:]))
    return series
