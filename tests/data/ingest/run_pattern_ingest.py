"""Runs one ingest of the pattern test source, as a separate process that a test can kill.

Usage: python run_pattern_ingest.py OUT LOG DELAY [SCHEDULER]
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from pattern_source import PatternSource

from terrasynth.workflows.ingest import run_ingest

AOI = "POLYGON((9.0 45.0, 9.02 45.0, 9.0 45.01, 9.0 45.0))"
LEVELS = "60,16"
TILE_SIZE = 32


def main(out: str, log: str, delay: float, scheduler: str = "threads") -> None:
    # two reads at a time, however many cores: a test kills the run midway, before all 13 tiles are in
    source = PatternSource(delay=delay, log=log, concurrency=2)
    run_ingest(source, AOI, out, levels=LEVELS, tile_size=TILE_SIZE, scheduler=scheduler, progress=False)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], float(sys.argv[3]), *sys.argv[4:])
