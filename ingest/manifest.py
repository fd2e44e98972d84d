"""The manifest of finished tiles: one marker file per tile, created only after its data is written.

It lives beside the corpus (``corpus.zarr.manifest/``), so the Zarr store holds nothing foreign.
A marker is empty, or holds the reason the source had no data for its tile.
A marker appears atomically (written under a temporary name, then renamed), and only once a
tile's chunks are all on disk: a kill at any moment leaves the manifest claiming exactly the
tiles that are complete, so a rerun redoes only the tiles that were in flight. ``job.json``
records what the corpus is being built from, so a rerun with other settings cannot resume into it.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from terrasynth.core.errors import CorpusError

JOB_FILE = "job.json"


def manifest_path(corpus: str | Path) -> Path:
    """The manifest directory of the corpus at ``corpus``."""
    corpus = Path(corpus)
    return corpus.with_name(corpus.name + ".manifest")


class TileManifest:
    """Finished tiles of one corpus, keyed by (region, level, tile row, tile column)."""

    def __init__(self, corpus: str | Path):
        self.root = manifest_path(corpus)

    def _marker(self, region: str, level: str, row: int, col: int) -> Path:
        return self.root / region / level / f"{row}_{col}"

    def mark(self, region: str, level: str, row: int, col: int, *, no_data: str | None = None) -> None:
        """Record a tile as finished; call only after all its data is written. ``no_data`` says why
        the source had nothing for it (the tile is written all not valid)."""
        marker = self._marker(region, level, row, col)
        marker.parent.mkdir(parents=True, exist_ok=True)
        temporary = marker.with_name(f".{marker.name}.{os.getpid()}.tmp")
        temporary.write_text(no_data or "")
        os.replace(temporary, marker)

    def unmark(self, region: str, level: str, row: int, col: int) -> None:
        """Record a tile as not finished (its data was lost), so that a rerun writes it again."""
        self._marker(region, level, row, col).unlink(missing_ok=True)

    def finished(self) -> set[tuple[str, str, int, int]]:
        """Every tile marked finished."""
        tiles = set()
        if not self.root.is_dir():
            return tiles
        for marker in self.root.glob("*/*/*_*"):
            if marker.name.startswith("."):
                continue
            row, col = marker.name.split("_")
            tiles.add((marker.parent.parent.name, marker.parent.name, int(row), int(col)))
        return tiles

    def no_data(self) -> dict[tuple[str, str, int, int], str]:
        """The finished tiles the source had no data for, with the reason recorded for each."""
        reasons = {}
        for tile in self.finished():
            reason = self._marker(*tile).read_text()
            if reason:
                reasons[tile] = reason
        return reasons

    def job(self) -> dict | None:
        """The job recorded by :meth:`start`, or ``None`` if there is none."""
        path = self.root / JOB_FILE
        if not path.is_file():
            return None
        try:
            return json.loads(path.read_text())
        except ValueError:
            raise CorpusError(f"{path} is damaged; pass --overwrite to start the corpus over") from None

    def start(self, job: dict) -> None:
        """Record the job a new corpus is built from (atomically)."""
        self.root.mkdir(parents=True, exist_ok=True)
        temporary = self.root / f".{JOB_FILE}.tmp"
        temporary.write_text(json.dumps(job, indent=1, sort_keys=True))
        os.replace(temporary, self.root / JOB_FILE)

    def remove(self) -> None:
        """Delete the manifest (to start over)."""
        shutil.rmtree(self.root, ignore_errors=True)
