"""``terrasynth check``: is every finished tile of a corpus on disk, and does it decode?

The finished tiles are those the ingest manifest beside the corpus records (every tile when the
corpus has no manifest, a copy say). Each one's chunks must be present and decode; a bad tile is
named by region, level, variable and tile index. Rerunning the same ``terrasynth ingest`` refetches
exactly the bad tiles (see :meth:`terrasynth.ingest.writer.CorpusWriter.open`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from terrasynth.core.corpus import open_corpus
from terrasynth.core.corpus_check import BadTile, find_bad_tiles
from terrasynth.core.manifest import TileManifest


@dataclass(frozen=True)
class CorpusCheck:
    """What :func:`check_corpus` found.

    Attributes:
        path: the corpus.
        tiles: how many finished tiles were checked (``None``: every tile of the store).
        bad: each variable of a tile that is missing or does not decode.
    """

    path: Path
    tiles: int | None
    bad: list[BadTile]

    @property
    def bad_tiles(self) -> int:
        """How many tiles are bad (one bad variable or more)."""
        return len({tile.key for tile in self.bad})


def check_corpus(path: str | Path) -> CorpusCheck:
    """Check the corpus at ``path``: its format (the first problem raises
    :class:`~terrasynth.core.errors.CorpusError`), then every finished tile's chunks, read and
    decoded (reads the whole corpus)."""
    path = Path(path)
    open_corpus(path, allow_incomplete=True, check_chunks=False)
    manifest = TileManifest(path)
    finished = manifest.finished() if manifest.job() is not None else None
    return CorpusCheck(path, None if finished is None else len(finished), find_bad_tiles(path, finished))
