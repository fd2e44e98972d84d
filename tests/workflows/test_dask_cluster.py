"""The real distributed path: a Dask cluster's workers write the tiles, set up by a worker plugin."""

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import ClassVar

import cloudpickle
import pytest

DATA = Path(__file__).parents[1] / "data" / "ingest"
sys.path.insert(0, str(DATA))

import pattern_source  # noqa: E402
from corpus_bytes import assert_same_corpus  # noqa: E402
from pattern_source import PatternSource, read_log  # noqa: E402

from terrasynth.core import open_corpus  # noqa: E402
from terrasynth.core.manifest import TileManifest  # noqa: E402
from terrasynth.workflows.dask_cluster import callback_errors_silenced, local_cluster_size  # noqa: E402
from terrasynth.workflows.ingest import run_ingest  # noqa: E402

AOI = "POLYGON((9.0 45.0, 9.02 45.0, 9.0 45.01, 9.0 45.0))"


def test_a_local_cluster_keeps_enough_threads_for_a_rate_limited_service():
    assert local_cluster_size(PatternSource(concurrency=32), cores=2) == (2, 16)
    assert local_cluster_size(PatternSource(), cores=2) == (2, 1)
    assert local_cluster_size(PatternSource(concurrency=3), cores=4) == (4, 1)


def max_overlap(intervals):
    events = sorted([(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals])
    running = peak = 0
    for _, step in events:
        running += step
        peak = max(peak, running)
    return peak


@pytest.fixture
def by_value():
    """Pickle the test source by value: the workers cannot import the tests' modules."""
    cloudpickle.register_pickle_by_value(pattern_source)
    yield
    cloudpickle.unregister_pickle_by_value(pattern_source)


@pytest.mark.slow
def test_the_default_local_cluster_writes_the_same_corpus_within_the_concurrency_cap(tmp_path, by_value):
    delay = 0.15
    source = PatternSource(
        concurrency=1, delay=delay, log=tmp_path / "reads.log", setup_log=tmp_path / "setup.log"
    )
    summary = run_ingest(source, AOI, tmp_path / "c.zarr", levels="60,16", tile_size=32, progress=False)
    workers, threads = local_cluster_size(source)
    assert (
        summary.written == 13
        and summary.runner == f"local Dask cluster of {workers} workers x {threads} threads"
    )

    set_up = {int(pid) for pid in (tmp_path / "setup.log").read_text().split()}
    assert os.getpid() in set_up and len(set_up - {os.getpid()}) == workers  # each worker, through the plugin
    reads = read_log(tmp_path / "reads.log")
    assert len(reads) == 13
    # The cluster has more threads than the source allows reads: the Dask semaphore held them to one.
    assert workers * threads > 1
    assert max_overlap([(start, start + delay - 0.02) for *_, start in reads]) == 1

    run_ingest(
        PatternSource(),
        AOI,
        tmp_path / "threads.zarr",
        levels="60,16",
        tile_size=32,
        scheduler="threads",
        progress=False,
    )
    assert_same_corpus(tmp_path / "c.zarr", tmp_path / "threads.zarr")


def test_a_running_scheduler_is_used_by_its_address(tmp_path):
    from distributed import LocalCluster

    delay = 0.1
    source = PatternSource(concurrency=2, delay=delay, log=tmp_path / "reads.log")
    with LocalCluster(n_workers=1, threads_per_worker=6, processes=False, dashboard_address=None) as cluster:
        summary = run_ingest(
            source,
            AOI,
            tmp_path / "c.zarr",
            levels="60,16",
            tile_size=32,
            scheduler=cluster.scheduler_address,
            progress=False,
        )
    assert summary.runner == f"Dask cluster at {cluster.scheduler_address}" and summary.written == 13
    # six threads, two reads at a time (how many overlap at all depends on the host's timing)
    assert max_overlap([(start, start + delay - 0.02) for *_, start in read_log(tmp_path / "reads.log")]) <= 2


class SchedulerWatchingSource(PatternSource):
    """Records, at each read, how many tasks the in-process cluster's scheduler holds."""

    scheduler = None
    tasks_seen: ClassVar[list[int]] = []

    def read(self, grid, level):
        self.tasks_seen.append(len(self.scheduler.tasks))
        return super().read(grid, level)


def test_a_cluster_is_handed_a_few_tiles_at_a_time_not_the_whole_area(tmp_path):
    from distributed import LocalCluster

    from terrasynth.workflows.ingest import IN_FLIGHT_PER_SLOT

    threads = 2
    with LocalCluster(
        n_workers=1, threads_per_worker=threads, processes=False, dashboard_address=None
    ) as cluster:
        SchedulerWatchingSource.scheduler, SchedulerWatchingSource.tasks_seen = cluster.scheduler, []
        summary = run_ingest(
            SchedulerWatchingSource(),
            BOX,
            tmp_path / "c.zarr",
            levels="60,16",
            tile_size=16,
            scheduler=cluster.scheduler_address,
            progress=False,
        )
    window = IN_FLIGHT_PER_SLOT * threads
    assert summary.written == len(SchedulerWatchingSource.tasks_seen) > 10 * window
    # The scheduler holds the tiles submitted and not finished (the window), the writer shipped to
    # the workers, and finished tiles until the client lets their results go, a moment later.
    assert max(SchedulerWatchingSource.tasks_seen) <= 2 * window + 1


def test_an_unreachable_scheduler_is_one_line(tmp_path, monkeypatch):
    from terrasynth.core import ConfigError
    from terrasynth.workflows import dask_cluster

    monkeypatch.setattr(dask_cluster, "CONNECT_TIMEOUT_S", 1)

    with pytest.raises(ConfigError, match=r"cannot reach a Dask scheduler at 'tcp://127.0.0.1:9' \("):
        run_ingest(
            PatternSource(),
            AOI,
            tmp_path / "c.zarr",
            levels="60",
            scheduler="tcp://127.0.0.1:9",
            progress=False,
        )


BOX = "9.0,45.0,9.03,45.02"  # 115 tiles of 16 pixels at 60 and 16 m: many more than a machine has cores
INTERRUPTED = "terrasynth: error: interrupted: nothing unfinished is left looking finished; rerun the same command (ingest and training resume where they stopped)"
PROGRESS_BAR = re.compile(r"^\s*\d+m\s.*\d+/\d+")


def run_a_failing_tornado_callback():
    import asyncio

    from tornado.ioloop import IOLoop

    def fail():
        raise OSError("the connection is gone")

    async def main():
        IOLoop.current().add_callback(fail)
        await asyncio.sleep(0.05)  # the loop runs the callback at its next turn

    asyncio.run(main())


def test_tornado_callback_errors_are_quiet_while_a_cluster_closes(caplog):
    run_a_failing_tornado_callback()
    assert "Exception in callback" in caplog.text  # what a closing cluster's callbacks print
    caplog.clear()
    with callback_errors_silenced():
        run_a_failing_tornado_callback()
    assert caplog.text == ""


def test_a_task_cancelled_while_its_result_is_fetched_is_no_news(caplog, monkeypatch):
    """The race behind a traceback once seen after Ctrl-C: a task finishes, and while the client
    fetches its result, the tile's future is cancelled (as :func:`write_tiles` does on an
    interrupt or a failure). Distributed's executor then fails a callback with FutureCancelledError,
    which Tornado reports, at any time, as "Exception in callback" with a traceback."""
    import asyncio
    import threading

    from distributed import LocalCluster

    from terrasynth.workflows.dask_cluster import dask_client

    cancelled, fetched = threading.Event(), threading.Event()
    with LocalCluster(n_workers=1, processes=False, dashboard_address=None) as cluster:
        with dask_client(cluster.scheduler_address, workers=1, threads=1) as (client, _):
            gather = client._gather

            async def gather_once_cancelled(*args, **kwargs):  # holds the fetch open until the cancel
                try:
                    while not cancelled.is_set():
                        await asyncio.sleep(0.01)
                    return await gather(*args, **kwargs)
                finally:
                    fetched.set()

            monkeypatch.setattr(client, "_gather", gather_once_cancelled)
            future = client.get_executor().submit(sum, [2, 3])
            deadline = time.monotonic() + 60
            while not any(state.status == "finished" for state in client.futures.values()):
                assert time.monotonic() < deadline, "the task never finished"
                time.sleep(0.01)
            assert future.cancel()
            cancelled.set()
            assert fetched.wait(60)
            for _ in range(3):  # a few turns of the client's loop: Tornado reports at the next one
                client.sync(asyncio.sleep, 0.01)
        assert "Exception in callback" not in caplog.text and "Traceback" not in caplog.text

        def fail():
            raise OSError("the connection is gone")

        with dask_client(cluster.scheduler_address, workers=1, threads=1) as (client, _):
            client.loop.add_callback(fail)
            client.sync(asyncio.sleep, 0.05)
        assert "OSError: the connection is gone" in caplog.text  # other callback failures still show


@pytest.mark.slow
def test_local_workers_keep_this_process_warning_filters():
    import warnings

    from terrasynth.workflows.dask_cluster import LOCAL, dask_client

    def message_filters():
        return [entry[1].pattern for entry in warnings.filters if entry[1] is not None]

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="a warning the workers keep quiet too")
        with dask_client(LOCAL, workers=1, threads=1) as (client, _):
            seen = client.run(message_filters)
    assert len(seen) == 1 and all("a warning the workers keep quiet too" in kept for kept in seen.values())


def start_ingest(out, delay, *options):
    """`terrasynth ingest` of the slowed pattern source in a process group of its own, as a terminal runs it."""
    command = [sys.executable, str(DATA / "run_pattern_cli.py"), str(delay), "ingest", "--aoi", BOX]
    command += ["--levels", "60,16", "--tile-size", "16", "--out", str(out), *options]
    return subprocess.Popen(
        command, start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def wait_for_tiles(process, out, count=2, timeout=900):
    deadline = time.monotonic() + timeout
    while len(TileManifest(out).finished()) < count:
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the ingest never got going"
        time.sleep(0.05)


def live_processes(group: int) -> list[int]:
    """Processes of a process group that are alive (not zombies waiting to be reaped)."""
    alive = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # gone meanwhile
            continue
        if int(fields[2]) == group and fields[0] != "Z":
            alive.append(int(stat.parent.name))
    return alive


@pytest.mark.slow
def test_ctrl_c_during_ingest_on_the_local_cluster_is_one_line_and_a_rerun_completes(tmp_path):
    out = tmp_path / "c.zarr"
    process = start_ingest(out, 1.0)
    wait_for_tiles(process, out)
    os.killpg(process.pid, signal.SIGINT)  # a terminal's Ctrl-C reaches the workers too
    _, err = process.communicate(timeout=600)
    assert process.returncode == 130, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert lines[-1] == INTERRUPTED and "Traceback" not in err
    others = [
        line for line in lines[:-1] if not line.startswith("running on") and not PROGRESS_BAR.match(line)
    ]
    assert others == []  # nothing from the workers or from distributed

    summary = run_ingest(
        PatternSource(), BOX, out, levels="60,16", tile_size=16, scheduler="threads", progress=False
    )
    total = sum(level.total for level in summary.levels.values())
    assert 0 < summary.written < total and open_corpus(out).attrs["status"] == "complete"  # resumed


@pytest.mark.slow
def test_kill_9_of_an_ingest_on_the_local_cluster_leaves_no_process_behind(tmp_path):
    out = tmp_path / "c.zarr"
    process = start_ingest(out, 1.0)
    wait_for_tiles(process, out)
    assert len(live_processes(process.pid)) > 1  # the workers
    os.kill(process.pid, signal.SIGKILL)  # the terrasynth process only
    process.communicate(timeout=600)
    deadline = time.monotonic() + 300
    while live_processes(process.pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert live_processes(process.pid) == []


def test_blocks_run_in_this_process_under_a_hidden_progress_bar_with_threads():
    from terrasynth.workflows.dask_cluster import blocks_in_progress

    with blocks_in_progress("threads", show_progress=False) as (progress, runner):
        task = progress.add_task("blocks", total=1)
        assert runner.executor.submit(lambda: 2 + 3).result() == 5 and runner.description == "this process"
        progress.advance(task)
        assert progress.disable and progress.tasks[0].completed == 1
