"""The real distributed path: a Dask cluster's workers write the tiles, set up by a worker plugin."""

import os
import sys
from pathlib import Path

import cloudpickle
import pytest

DATA = Path(__file__).parents[1] / "data" / "ingest"
sys.path.insert(0, str(DATA))

import pattern_source  # noqa: E402
from corpus_bytes import assert_same_corpus  # noqa: E402
from pattern_source import PatternSource, read_log  # noqa: E402

from terrasynth.workflows.dask_cluster import local_cluster_size  # noqa: E402
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
    assert max_overlap([(start, start + delay - 0.02) for *_, start in read_log(tmp_path / "reads.log")]) == 2


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
