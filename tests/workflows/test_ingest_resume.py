"""Kill -9 a real ingest process mid-run, rerun it: same bytes, and no finished tile fetched again."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

DATA = Path(__file__).parents[1] / "data" / "ingest"
sys.path.insert(0, str(DATA))

from corpus_bytes import assert_same_corpus  # noqa: E402
from pattern_source import PatternSource, read_log  # noqa: E402
from run_pattern_ingest import AOI, LEVELS, TILE_SIZE  # noqa: E402
from run_pattern_ingest import main as run_pattern_ingest  # noqa: E402

from terrasynth.core import AreaOfInterest, open_corpus  # noqa: E402
from terrasynth.core.manifest import TileManifest  # noqa: E402
from terrasynth.ingest.writer import CorpusWriter  # noqa: E402


def start(out, log, delay):
    return subprocess.Popen(
        [sys.executable, str(DATA / "run_pattern_ingest.py"), str(out), str(log), str(delay)],
        start_new_session=True,  # its own process group: the kill takes every thread and child with it
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


@pytest.mark.slow
def test_a_killed_ingest_resumes_to_the_same_bytes_without_refetching(tmp_path):
    reference, out, log = tmp_path / "reference.zarr", tmp_path / "c.zarr", tmp_path / "reads.log"
    assert (
        subprocess.run(
            [
                sys.executable,
                str(DATA / "run_pattern_ingest.py"),
                str(reference),
                str(tmp_path / "ref.log"),
                "0",
            ],
            capture_output=True,
            timeout=300,
        ).returncode
        == 0
    )

    process = start(out, log, delay=0.4)
    manifest = TileManifest(out)
    deadline = time.monotonic() + 900  # a hang guard: a busy host starts slowly
    while len(manifest.finished()) < 4:
        assert process.poll() is None, process.stdout.read().decode()
        assert time.monotonic() < deadline, "the ingest never got going"
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=300)
    assert process.returncode == -signal.SIGKILL

    finished = manifest.finished()
    total = CorpusWriter(out, AreaOfInterest.parse(AOI), LEVELS, PatternSource(), tile_size=TILE_SIZE).tiles()
    assert 4 <= len(finished) < len(total)
    assert open_corpus(out, allow_incomplete=True).attrs["status"] == "incomplete"
    reads_before = len(read_log(log))

    run_pattern_ingest(out, log, delay=0.0)  # the rerun, here in this process
    writer = CorpusWriter(out, AreaOfInterest.parse(AOI), LEVELS, PatternSource(), tile_size=TILE_SIZE)
    corner = {}
    for tile in writer.tiles():
        grid = writer.grids[(tile.region, tile.level)].subgrid(tile.window)
        corner[(tile.level, round(grid.transform.c), round(grid.transform.f))] = tile.key
    fetched_again = [corner[entry[:3]] for entry in read_log(log)[reads_before:]]
    assert sorted(fetched_again) == sorted(t.key for t in total if t.key not in finished)
    assert open_corpus(out).attrs["status"] == "complete"
    assert_same_corpus(out, reference)
