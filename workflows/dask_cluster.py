"""Where ingest tiles, canvas blocks and synthesis shards run: a local Dask cluster, an existing
one, or threads in this process.

Every worker prepares the source once through a worker plugin (:meth:`Source.setup`, which for
Earth Engine looks up credentials on the worker itself), so no task carries a secret. Reads are
capped cluster-wide at the source's ``max_concurrency`` with a Dask semaphore.

The worker processes of the local cluster are this process' children. They ignore Ctrl-C (a
terminal sends it to every process of its group): this process alone handles it, closes them
(tiles in flight finish) and says one line; they keep this process' warning filters, and what
they log while closing stays quiet (:class:`QuietLocalWorker`). When this process dies (kill -9),
each worker's nanny link breaks and the worker exits on its own.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import signal
import threading
import traceback
import uuid
import warnings
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, cast

from distributed import Client, WorkerPlugin
from rich.progress import Progress

from terrasynth.core.errors import ConfigError
from terrasynth.ingest.source import Source
from terrasynth.ingest.writer import CorpusWriter
from terrasynth.workflows.progress import progress_bar

LOCAL = "local"
"""``--scheduler`` value for a local cluster sized to this machine (the default)."""
THREADS = "threads"
"""``--scheduler`` value for threads in this process: no cluster to start, for small jobs."""
CONNECT_TIMEOUT_S = 10
"""Seconds to wait for a scheduler given by its address."""


class SourceSetup(WorkerPlugin):
    """Calls ``source.setup()`` on each worker as it joins (authentication happens there)."""

    idempotent = True

    def __init__(self, source: Source):
        self.source = source

    def setup(self, worker) -> None:
        self.source.setup()


class QuietLocalWorker(WorkerPlugin):
    """Makes a worker of a local cluster, a child of this process writing to the same terminal, as
    quiet as this process: it takes this process' warning filters; and once it closes (Ctrl-C),
    the read leases that its tiles in flight can no longer hand back are no news (Dask's semaphore
    would log each with a traceback; the whole cluster is closing)."""

    idempotent = True

    def __init__(self):
        self.warning_filters = list(warnings.filters)

    def setup(self, worker) -> None:
        cast(list, warnings.filters)[:] = self.warning_filters  # in place: the list the C module reads

    def teardown(self, worker) -> None:  # runs as the worker starts closing, before its connections do
        logging.getLogger("distributed.semaphore").setLevel(logging.CRITICAL)


@dataclass
class TileRunner:
    """What :func:`terrasynth.ingest.writer.write_tiles` needs: an executor, the writer as the
    workers see it, the limiter of concurrent reads (``None`` when the executor is the cap), and how
    many tiles can run at once (threads, all workers together)."""

    executor: Executor
    writer: object
    limiter: object | None
    description: str
    slots: int


def local_cluster_size(source: Source, cores: int | None = None) -> tuple[int, int]:
    """(workers, threads per worker) for a local cluster: a worker per core; for a rate-limited
    service, enough threads in all to keep ``max_concurrency`` reads in flight."""
    cores = cores or os.cpu_count() or 1
    threads = math.ceil(source.max_concurrency / cores) if source.max_concurrency else 1
    return cores, max(1, threads)


@contextmanager
def tile_runner(scheduler: str, writer: CorpusWriter) -> Iterator[TileRunner]:
    """A :class:`TileRunner` for ``scheduler``: ``"local"``, ``"threads"`` or a scheduler address."""
    source = writer.source
    if scheduler == THREADS:
        workers = source.max_concurrency or os.cpu_count() or 1
        source.setup()
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="terrasynth-tile") as executor:
            yield TileRunner(executor, writer, None, f"{workers} threads in this process", workers)
        return

    from distributed import Semaphore

    workers, threads = local_cluster_size(source)
    with dask_client(scheduler, workers=workers, threads=threads) as (client, description):
        client.register_plugin(SourceSetup(source), name=f"terrasynth-source-{uuid.uuid4().hex}")
        limiter = None
        if source.max_concurrency:
            limiter = Semaphore(
                max_leases=source.max_concurrency, name=f"terrasynth-reads-{uuid.uuid4().hex}"
            )
        shared = client.scatter(writer, broadcast=True)
        slots = sum(client.nthreads().values())
        yield TileRunner(client.get_executor(), shared, limiter, description, max(1, slots))


@contextmanager
def dask_client(
    scheduler: str, *, workers: int, threads: int, resources: dict[str, float] | None = None
) -> Iterator[tuple[Client, str]]:
    """A Dask client and a description of where it runs: on a local cluster of ``workers`` processes
    x ``threads`` threads (each worker holding ``resources``) for ``"local"``, or on the running
    cluster at the address ``scheduler``. The local cluster is closed on leaving."""
    from distributed import LocalCluster

    _quiet_cancelled_hand_overs()
    cluster = None
    if scheduler == LOCAL:
        with _interrupts_ignored_by_children():
            cluster = LocalCluster(
                n_workers=workers,
                threads_per_worker=threads,
                resources=resources,
                dashboard_address=None,
                silence_logs=logging.ERROR,  # workers' warnings (a slow task, a cancelled one) are no news
            )
        client = Client(cluster)
        client.register_plugin(QuietLocalWorker(), name="terrasynth-quiet-local-worker")
        description = f"local Dask cluster of {workers} workers x {threads} threads"
    else:
        try:
            client = Client(scheduler, timeout=CONNECT_TIMEOUT_S)
        except (OSError, TimeoutError, ValueError) as error:
            raise ConfigError(
                f"cannot reach a Dask scheduler at {scheduler!r} ({type(error).__name__}): give --scheduler "
                "local, threads, or the address of a running scheduler such as tcp://host:8786"
            ) from None
        description = f"Dask cluster at {scheduler}"
    try:
        yield client, description
    finally:
        with callback_errors_silenced():
            client.close()
            if cluster is not None:
                cluster.close()


@contextlib.contextmanager
def callback_errors_silenced() -> Iterator[None]:
    """Keep Tornado's "Exception in callback" reports (logger ``tornado.application``) quiet: while a
    cluster closes, above all one cut short by Ctrl-C, callbacks of connections already gone fail,
    which is no news to a user who gets one line (seen once under load as a traceback before it)."""
    logger = logging.getLogger("tornado.application")
    previous = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(previous)


class _CancelledHandOversDropped(logging.Filter):
    """Drops Tornado's "Exception in callback" report of distributed's executor failing to hand a
    task's outcome to a ``concurrent.futures.Future`` that was cancelled meanwhile: the report's
    traceback passes through the executor's ``_cascade_future``, whose ``cf_future`` is cancelled."""

    def filter(self, record: logging.LogRecord) -> bool:
        trace = record.exc_info[2] if record.exc_info else None
        for frame, _ in traceback.walk_tb(trace):
            if frame.f_code.co_name == "_cascade_future":
                handed_to = frame.f_locals.get("cf_future")
                if isinstance(handed_to, Future) and handed_to.cancelled():
                    return False
        return True


def _quiet_cancelled_hand_overs() -> None:
    """Keep quiet, for the rest of this process, the failures of handing a task's outcome to a tile
    that was cancelled meanwhile (Ctrl-C, or another tile's failure): cancelled while the client
    fetches its result, distributed's executor fails with ``FutureCancelledError``, or with
    ``InvalidStateError`` when setting it; Tornado then prints a traceback at any later turn of the
    client's loop, even after the cluster has closed. The cancel was ours: it is never news. Other
    callback failures still show."""
    logger = logging.getLogger("tornado.application")
    if not any(isinstance(known, _CancelledHandOversDropped) for known in logger.filters):
        logger.addFilter(_CancelledHandOversDropped())


@contextlib.contextmanager
def _interrupts_ignored_by_children() -> Iterator[None]:
    """Ignore SIGINT while worker processes start: they inherit that (a Ctrl-C reaches every process
    of the terminal's group), so only this process sees Ctrl-C. A Ctrl-C while they start is lost."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


@dataclass
class BlockRunner:
    """Where blocks of generation or shards of synthesis run: an ``executor``, a description, and
    ``share``, which makes an object (a model, say) that every task takes as an argument reach
    each worker once rather than with every task (a Dask future of it broadcast to the workers)."""

    executor: Executor
    description: str
    share: Callable[[Any], Any]  # the object, or a Dask future that stands for it in tasks' arguments


def worker_torch_threads(scheduler: str, gpus: int) -> int | None:
    """Torch threads of each block worker: 1 on a local cluster without GPU (a single-threaded
    worker per core), else None (as the worker has it)."""
    return 1 if scheduler == LOCAL and not gpus else None


@contextmanager
def block_runner(
    scheduler: str, *, resources: dict[str, float] | None = None, gpus: int = 0
) -> Iterator[BlockRunner]:
    """A :class:`BlockRunner` for ``scheduler``.

    ``"threads"`` runs the tasks one at a time in this process (torch uses the cores); ``"local"``
    on a local cluster of one single-threaded worker per core, or of one worker when this machine
    has ``gpus``; an address on that running cluster. Every task asks for ``resources`` (e.g.
    ``{"GPU": 1}``), which the local cluster's workers are given.
    """
    if scheduler == THREADS:
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="terrasynth-block") as executor:
            yield BlockRunner(executor, "this process", lambda shared: shared)
        return
    workers = 1 if gpus else os.cpu_count() or 1
    with dask_client(scheduler, workers=workers, threads=1, resources=resources) as (client, description):
        yield BlockRunner(
            client.get_executor(resources=resources),
            description,
            lambda shared: client.scatter(shared, broadcast=True, hash=False),
        )


@contextmanager
def blocks_in_progress(
    scheduler: str, show_progress: bool = True, *, resources: dict[str, float] | None = None, gpus: int = 0
) -> Iterator[tuple[Progress, BlockRunner]]:
    """A progress bar (:func:`~terrasynth.workflows.progress.progress_bar`, shown when
    ``show_progress``) and the :func:`block_runner` of ``scheduler``, open together."""
    with (
        progress_bar(show_progress) as progress,
        block_runner(scheduler, resources=resources, gpus=gpus) as runner,
    ):
        yield progress, runner
