"""The manifest of a change synthesis sharded by series number: its job, then its finished shards.

It lives beside the synthesis' temporary folder (``.<out>.partial.manifest/``), and keeps its job
record as a corpus' :class:`~terrasynth.core.manifest.TileManifest` does (a rerun of the same job
resumes, one with other settings is refused)::

    job.json              the synthesis' settings
    shards/<first>.json   a finished shard, named by its first series number: its series'
                          consistency figures (a JSON list, one object per series)

A shard's file is written (atomically) only once its series are all written, so a kill leaves the
manifest claiming exactly the finished shards (:mod:`~terrasynth.workflows.synthesis_shards`).
"""

from __future__ import annotations

import json
from pathlib import Path

from terrasynth.core.errors import ConfigError
from terrasynth.core.manifest import TileManifest
from terrasynth.core.outputs import atomic_path


class ShardManifest:
    """The finished shards of one synthesis (by first series number), with their figures.

    Args:
        stage: the synthesis' temporary folder (the manifest lives beside it).
    """

    def __init__(self, stage: str | Path):
        self._job = TileManifest(stage, about="synthesis output", error=ConfigError, restart="remove it")
        self.root = self._job.root

    def resumes(self, job: dict) -> bool:
        """True when the manifest holds ``job``, so that a rerun resumes it; else starts it over,
        recording ``job``. Raises :class:`ConfigError` in one line when it holds another job."""
        if self._job.resumes(job):
            return True
        self._job.start(job)
        return False

    def mark(self, first: int, figures: list[dict]) -> None:
        """Record the shard starting at series ``first`` as written, with its series' consistency figures."""
        with atomic_path(self.root / "shards" / f"{first}.json") as partial:
            partial.write_text(json.dumps(figures))

    def finished(self) -> dict[int, list[dict]]:
        """The figures of every finished shard, by its first series number."""
        folder = self.root / "shards"
        if not folder.is_dir():
            return {}
        return {int(p.stem): json.loads(p.read_text()) for p in folder.glob("*.json")}

    def remove(self) -> None:
        """Delete the manifest (to start over, or once the synthesis is complete)."""
        self._job.remove()
