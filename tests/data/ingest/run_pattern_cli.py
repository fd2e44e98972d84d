"""Runs the ``terrasynth`` command line with every source replaced by the pattern test source,
slowed down, as a separate process that a test can interrupt or kill.

Usage: python run_pattern_cli.py DELAY ingest --aoi AREA ... (DELAY: seconds each tile's read sleeps)
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from pattern_source import PatternSource

from terrasynth.ingest import registry
from terrasynth.workflows.cli import main

if __name__ == "__main__":
    delay = float(sys.argv[1])
    # four reads at a time, as a rate-limited service allows, however many cores: a test interrupts the run
    # midway, before all tiles are in
    registry.make_source = lambda name, **options: PatternSource(delay=delay, concurrency=4)
    main(sys.argv[2:])
