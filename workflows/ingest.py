"""``terrasynth ingest``: build a multi-resolution corpus from a source, resumably.

:func:`run_ingest` is the library call (a source object in, a corpus out); the command
(:mod:`terrasynth.workflows.commands.ingest`) builds the source from its options, prints the plan
(:func:`print_plan`, ``--dry-run``) or runs it with a progress bar per level and a summary.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.progress import TaskID

IN_FLIGHT_PER_SLOT = 2
"""Tiles submitted per tile that can run at once (a worker thread): enough that no worker waits for
the next, few enough that a continent is streamed to the cluster, never handed over whole."""


@dataclass
class LevelSummary:
    """Tiles of one level (all regions): written now, found done from an earlier run, and their cost."""

    total: int = 0
    written: int = 0
    skipped: int = 0
    requests: int = 0
    retries: int = 0
    bytes: int = 0
    no_data: dict[str, int] = field(default_factory=dict)
    """Tiles (this run's and earlier runs') the source had no data for, per reason."""


@dataclass
class IngestSummary:
    """What :func:`run_ingest` did.

    Attributes:
        corpus: the Zarr store, now complete.
        stac: its STAC collection file.
        levels: per level name, a :class:`LevelSummary`.
        seconds: wall time of the whole run.
        runner: where the tiles ran.
        coverage: warnings of the source's coverage check (a region without images, say).
    """

    corpus: Path
    stac: Path
    levels: dict[str, LevelSummary] = field(default_factory=dict)
    seconds: float = 0.0
    runner: str = ""
    coverage: list[str] = field(default_factory=list)

    @property
    def written(self) -> int:
        return sum(level.written for level in self.levels.values())


def run_ingest(
    source,
    aoi,
    out: str | Path,
    *,
    levels="60,16,4",
    tile_size: int = 256,
    dates=None,
    overwrite: bool = False,
    scheduler: str = "local",
    progress: bool = True,
) -> IngestSummary:
    """Build (or resume) the corpus at ``out`` over ``aoi`` from ``source``.

    Args:
        source: a :class:`terrasynth.ingest.source.Source`.
        aoi: an :class:`~terrasynth.core.AreaOfInterest`, or text/a file that parses as one.
        out: the Zarr store to write; its manifest and STAC collection go beside it.
        levels: resolutions in metres, e.g. ``"60,16,4"``.
        tile_size: tile and chunk edge in pixels.
        dates: the :class:`~terrasynth.ingest.dates.DateRange` the data stands for (for STAC).
        overwrite: start over instead of resuming whatever is at ``out``.
        scheduler: ``"local"`` (a Dask cluster sized to this machine), ``"threads"`` (this process
            only, for small jobs) or the address of a running Dask scheduler.
        progress: show a progress bar per level on the terminal.

    Returns an :class:`IngestSummary`. A failure leaves every finished tile in place: rerunning
    the same call resumes. Tiles are streamed to the workers a few at a time, so the memory of this
    process and of the scheduler does not grow with the area.
    """
    from terrasynth.core import AreaOfInterest
    from terrasynth.ingest.writer import CorpusWriter, write_tiles
    from terrasynth.workflows.dask_cluster import tile_runner

    started = time.perf_counter()
    area = aoi if isinstance(aoi, AreaOfInterest) else AreaOfInterest.parse(aoi)
    writer = CorpusWriter(out, area, levels, source, tile_size=tile_size, dates=dates)
    source.setup()  # fail early (no credentials, say) before anything is written
    source.check_area(area)  # the cheap refusal first (writer.open checks it again)
    coverage = source.check_coverage(area, writer.levels)  # refuses a level with no data at all
    pending = writer.open(overwrite=overwrite)
    totals: Counter[str] = Counter()
    for tiles in writer.tiles().levels:
        totals[tiles.level] += len(tiles)
    summary = IngestSummary(writer.path, writer.stac_path, coverage=coverage)
    for level in writer.levels:
        n = totals[level.name]
        summary.levels[level.name] = LevelSummary(total=n, skipped=n - pending.counts.get(level.name, 0))
    with _LevelProgress(summary, enabled=progress) as bars:
        if pending:
            with tile_runner(scheduler, writer) as runner:
                summary.runner = runner.description
                bars.start(runner.description)

                def record(result):
                    level = summary.levels[result.tile.level]
                    level.written += 1
                    level.requests += result.requests
                    level.retries += result.retries
                    level.bytes += result.bytes
                    bars.advance(result.tile.level)

                write_tiles(
                    runner.writer,
                    pending,
                    runner.executor,
                    limiter=runner.limiter,
                    on_result=record,
                    max_in_flight=IN_FLIGHT_PER_SLOT * runner.slots,
                )
    summary.stac = writer.finish()
    for name, reasons in writer.no_data().items():
        summary.levels[name].no_data = reasons
    summary.seconds = time.perf_counter() - started
    return summary


class _LevelProgress:
    """A rich progress bar per level: tiles done / total and tiles per second."""

    def __init__(self, summary: IngestSummary, *, enabled: bool):
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.summary = summary
        self.progress = Progress(
            TextColumn("{task.description:>6}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]}"),
            TimeElapsedColumn(),
            console=Console(stderr=True),
            disable=not enabled,
        )
        self.tasks: dict[str, TaskID] = {}
        self.started: dict[str, float] = {}  # time.perf_counter() seconds

    def __enter__(self):
        self.progress.__enter__()
        return self

    def __exit__(self, *exc):
        return self.progress.__exit__(*exc)

    def start(self, runner: str) -> None:
        self.progress.console.print(f"running on {runner}")
        for name, level in self.summary.levels.items():
            self.tasks[name] = self.progress.add_task(
                name, total=level.total, completed=level.skipped, rate=""
            )
            self.started[name] = time.perf_counter()

    def advance(self, name: str) -> None:
        level = self.summary.levels[name]
        rate = level.written / max(time.perf_counter() - self.started[name], 1e-9)
        self.progress.update(self.tasks[name], advance=1, rate=f"{rate:.1f} tiles/s")


def print_summary(summary: IngestSummary) -> None:
    """The summary table of a finished run, on the terminal."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"Ingest summary ({summary.seconds:.1f} s)")
    for column in ("level", "tiles", "written", "already done", "requests", "retries", "MB written"):
        table.add_column(column, justify="left" if column == "level" else "right")
    for name, level in summary.levels.items():
        table.add_row(
            name,
            str(level.total),
            str(level.written),
            str(level.skipped),
            str(level.requests),
            str(level.retries),
            f"{level.bytes / 1e6:.1f}",
        )
    console = Console()
    console.print(table)
    for warning in summary.coverage:
        console.print(f"warning: {warning}", soft_wrap=True)
    for name, level in summary.levels.items():
        for reason, count in level.no_data.items():
            console.print(f"{name}: {count} of {level.total} tiles hold no data ({reason})", soft_wrap=True)
    console.print(f"corpus complete: {summary.corpus} (STAC: {summary.stac})", soft_wrap=True)


def print_plan(aoi, levels: str, tile_size: int, source) -> None:
    """The dry-run report: regions, grids, tiles, requests, bytes and the time at the source's quota,
    then the source's coverage of the area and dates where it can be checked (credentials found).

    Raises :class:`SourceError` when a level would hold no data at all."""
    from rich.console import Console
    from rich.table import Table

    from terrasynth.core import AreaOfInterest
    from terrasynth.core.errors import SourceError
    from terrasynth.core.levels import parse_levels
    from terrasynth.ingest.plan import estimate_seconds, plan_corpus
    from terrasynth.ingest.source import Source

    area = aoi if isinstance(aoi, AreaOfInterest) else AreaOfInterest.parse(aoi)
    plans = plan_corpus(area, levels, tile_size, source)
    table = Table(title=f"Corpus plan: {source.name} source, {tile_size} x {tile_size} px tiles")
    for column in ("region", "CRS", "level"):
        table.add_column(column, no_wrap=True)
    for column in ("pixels", "tiles", "requests", "MB"):
        table.add_column(column, justify="right", no_wrap=True)
    for p in plans:
        table.add_row(
            p.region,
            p.crs,
            p.level,
            f"{p.shape[0]} x {p.shape[1]}",
            str(p.tiles),
            str(p.requests),
            f"{p.bytes / 1e6:.1f}",
        )
    console = Console()
    console.print(table)
    regions = len({p.region for p in plans})
    tiles = sum(p.tiles for p in plans)
    requests = sum(p.requests for p in plans)
    megabytes = sum(p.bytes for p in plans) / 1e6
    console.print(
        f"{regions} region(s), {tiles} tiles, {requests} requests, {megabytes:.1f} MB uncompressed."
    )
    seconds = estimate_seconds(plans, source)
    if seconds is not None:
        console.print(
            f"About {_duration(seconds)} at the quota ({source.request_rate():g} requests/s with "
            f"{source.max_concurrency} in flight; assumes a typical request latency).",
            soft_wrap=True,
        )
    if type(source).check_coverage is Source.check_coverage:
        return
    try:
        source.setup()
    except SourceError as error:
        console.print(f"Coverage not checked: {error}", soft_wrap=True)
        return
    warnings = source.check_coverage(area, parse_levels(levels))
    for warning in warnings:
        console.print(f"warning: {warning}", soft_wrap=True)
    if not warnings:
        console.print("Coverage checked: every collection has images over every region in the date range.")


def _duration(seconds: float) -> str:
    if seconds < 1:
        return "under a second"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
