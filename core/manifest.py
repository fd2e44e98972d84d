"""The manifest of finished tiles: append-only logs, one per level and writing process.

It lives beside the corpus (``corpus.zarr.manifest/``), so the Zarr store holds nothing foreign; a
canvas generated block by block keeps one the same way (:mod:`~terrasynth.core.canvas_store`)::

    job.json                           what the corpus is being built from
    <region>/<level>/<writer>.tiles    finished tiles: 12-byte records (row, column, reason), uint32
    <region>/<level>/<writer>.reasons  why the source had no data: one reason per line

``<writer>`` names one process (host and process id), so no two processes ever append to the same
file, on a local disk or on shared storage. A tile's record is appended, in one write, only once
its chunks are all on disk; its reason is 0 when the source had data, else the line number of the
reason in the ``.reasons`` file beside it. A kill at any moment leaves the manifest claiming exactly
the tiles that are complete (a record cut short by the kill is not read), so a rerun redoes only the
tiles that were in flight. Recording a tile costs one small append, and reading a level is one
array read, however many tiles it has. ``job.json`` records what the corpus is being built from,
so a rerun with other settings cannot resume into it (:meth:`TileManifest.resumes`, which a
canvas store and a sharded synthesis' :class:`~terrasynth.core.shard_manifest.ShardManifest`
share). The marker files of earlier versions (one empty file, or one holding its reason, per
tile) are still read.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import threading
import uuid
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from terrasynth.core.config import differing_keys
from terrasynth.core.errors import CorpusError, TerrasynthError
from terrasynth.core.outputs import atomic_path

JOB_FILE = "job.json"
RECORD = np.dtype([("row", "<u4"), ("col", "<u4"), ("reason", "<u4")])
"""One finished tile: its row and column in the level's tile grid, and its no-data reason (0: none)."""
_RUN = uuid.uuid4().hex[:8]  # a process id can come back in a rerun; this cannot
_MARKER = re.compile(r"\d+_\d+")
_APPENDING = threading.Lock()  # the threads of one process share its log files


def manifest_path(corpus: str | Path) -> Path:
    """The manifest directory of the corpus at ``corpus``."""
    corpus = Path(corpus)
    return corpus.with_name(corpus.name + ".manifest")


class TileManifest:
    """Finished tiles of one corpus, keyed by (region, level, tile row, tile column).

    Args:
        corpus: the store it records (the manifest lives beside it, see :func:`manifest_path`).
        about: what that store is, as a refusal names it (``"corpus"``, ``"canvas"``).
        error: the error a rerun of another job, or a damaged job record, raises.
        restart: how its user starts over, as a refusal says it.
    """

    def __init__(
        self,
        corpus: str | Path,
        *,
        about: str = "corpus",
        error: type[TerrasynthError] = CorpusError,
        restart: str = "pass --overwrite",
    ):
        self.path, self.root = Path(corpus), manifest_path(corpus)
        self.about, self.error, self.restart = about, error, restart

    def mark(self, region: str, level: str, row: int, col: int, *, no_data: str | None = None) -> None:
        """Record a tile as finished; call only after all its data is written. ``no_data`` says why
        the source had nothing for it (the tile is written all not valid)."""
        folder = self.root / region / level
        with _APPENDING:
            folder.mkdir(parents=True, exist_ok=True)
            reason = _reason_number(folder / f"{_writer()}.reasons", no_data) if no_data else 0
            record = np.array([(row, col, reason)], dtype=RECORD).tobytes()
            descriptor = os.open(folder / f"{_writer()}.tiles", os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                os.write(descriptor, record)
            finally:
                os.close(descriptor)

    def done(self, region: str, level: str, shape: tuple[int, int]) -> np.ndarray:
        """Bool (tile rows, tile columns): True for the finished tiles of one level."""
        done = np.zeros(shape, dtype=bool)
        records, _ = self._records(region, level)
        done[records["row"], records["col"]] = True
        return done

    def no_data_counts(self, region: str, level: str) -> Counter[str]:
        """How many finished tiles of one level the source had no data for, per reason."""
        records, texts = self._records(region, level)
        return Counter(
            {
                texts[number - 1]: int(count)
                for number, count in zip(*np.unique(records["reason"], return_counts=True), strict=True)
                if number
            }
        )

    def levels(self) -> list[tuple[str, str]]:
        """The (region, level) pairs that have finished tiles."""
        if not self.root.is_dir():
            return []
        return sorted(
            (folder.parent.name, folder.name) for folder in self.root.glob("*/*/") if folder.is_dir()
        )

    def finished(self) -> set[tuple[str, str, int, int]]:
        """Every tile marked finished (an entry per tile: for small corpora and checks)."""
        tiles: set[tuple[str, str, int, int]] = set()
        for region, level in self.levels():
            records, _ = self._records(region, level)
            tiles.update((region, level, int(r["row"]), int(r["col"])) for r in records)
        return tiles

    def no_data(self) -> dict[tuple[str, str, int, int], str]:
        """The finished tiles the source had no data for, with the reason recorded for each."""
        reasons = {}
        for region, level in self.levels():
            records, texts = self._records(region, level)
            for r in records[records["reason"] > 0]:
                reasons[(region, level, int(r["row"]), int(r["col"]))] = texts[r["reason"] - 1]
        return reasons

    def forget(self, region: str, level: str, tiles: Iterable[tuple[int, int]]) -> None:
        """Record tiles of one level as not finished (their data was lost), so that a rerun writes
        them again. The level's logs are replaced by one without them (atomically); call it only
        while no tile of the level is being written."""
        records, texts = self._records(region, level)
        lost = np.array(sorted(set(tiles)), dtype=np.int64).reshape(-1, 2)
        kept = records[~np.isin(_keys(records["row"], records["col"]), _keys(lost[:, 0], lost[:, 1]))]
        folder = self.root / region / level
        old = set(folder.glob("*.tiles")) | set(folder.glob("*.reasons")) | set(_markers(folder))
        compacted = folder / f"compacted-{_writer()}"
        with atomic_path(
            compacted.with_name(compacted.name + ".reasons")
        ) as partial:  # before records refer to it
            partial.write_text("".join(f"{text}\n" for text in texts))
        with atomic_path(compacted.with_name(compacted.name + ".tiles")) as partial:
            partial.write_bytes(kept.tobytes())
        for path in old - {compacted.with_name(compacted.name + suffix) for suffix in (".tiles", ".reasons")}:
            path.unlink()

    def _records(self, region: str, level: str) -> tuple[np.ndarray, list[str]]:
        """The level's finished tiles, one :data:`RECORD` each (whole records only, the first of a
        tile recorded twice), and the reasons their ``reason`` numbers count into, from 1."""
        texts: list[str] = []
        parts = []
        for log in sorted((self.root / region / level).glob("*.tiles")):
            data = log.read_bytes()
            records = np.frombuffer(data, dtype=RECORD, count=len(data) // RECORD.itemsize).copy()
            reasons_file = log.with_name(log.name.removesuffix(".tiles") + ".reasons")
            local = reasons_file.read_text().splitlines() if reasons_file.is_file() else []
            renumber = np.array([0, *(_number_in(texts, text) for text in local)], dtype=np.uint32)
            records["reason"] = renumber[records["reason"]]
            parts.append(records)
        parts.append(
            np.array(
                [
                    (
                        *map(int, marker.name.split("_")),
                        _number_in(texts, text) if (text := marker.read_text()) else 0,
                    )
                    for marker in _markers(self.root / region / level)
                ],
                dtype=RECORD,
            )
        )
        records = np.concatenate(parts)
        _, first = np.unique(_keys(records["row"], records["col"]), return_index=True)
        return records[np.sort(first)], texts

    def job(self) -> dict | None:
        """The job recorded by :meth:`start`, or ``None`` if there is none."""
        path = self.root / JOB_FILE
        if not path.is_file():
            return None
        try:
            return json.loads(path.read_text())
        except ValueError:
            raise self.error(f"{path} is damaged; {self.restart} to start the {self.about} over") from None

    def resumes(self, job: dict) -> bool:
        """True when ``job`` (as it reads back from JSON) is the recorded job, so that a rerun
        resumes it; False when no job is recorded. Raises the manifest's ``error``, in one line
        naming the settings that differ, when another job is recorded."""
        recorded = self.job()
        if recorded is None:
            return False
        if changed := differing_keys(_json_ready(job), recorded):
            raise self.error(
                f"{self.path} is a {self.about} with other settings ({', '.join(changed)} differ): rerun "
                f"with the same settings to resume it, or {self.restart} to start over"
            )
        return True

    def start(self, job: dict) -> None:
        """Start the manifest over (what it records is dropped), recording ``job`` (atomically)."""
        self.remove()
        with atomic_path(self.root / JOB_FILE) as partial:
            partial.write_text(json.dumps(_json_ready(job), indent=1, sort_keys=True))

    def remove(self) -> None:
        """Delete the manifest (to start over)."""
        shutil.rmtree(self.root, ignore_errors=True)


def _json_ready(job: dict) -> dict:
    """``job`` as it reads back from JSON (tuples become lists, others strings), so a recorded job
    compares equal."""
    return json.loads(json.dumps(job, default=str))


def _writer() -> str:
    """This process' name on its log files (a forked child gets its own)."""
    return f"{socket.gethostname()}-{os.getpid()}-{_RUN}"


def _markers(folder: Path) -> list[Path]:
    """The marker files (``<row>_<col>``, holding the no-data reason) by which terrasynth before
    the logs recorded finished tiles: still read, so that its corpora resume and check as before."""
    if not folder.is_dir():
        return []
    return [Path(entry.path) for entry in os.scandir(folder) if _MARKER.fullmatch(entry.name)]


def _keys(rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """One int64 per (row, column) of a tile grid."""
    return rows.astype(np.int64) << 32 | cols.astype(np.int64)


def _number_in(texts: list[str], text: str) -> int:
    """The number of ``text`` in ``texts`` (from 1), appended if it is new."""
    if text not in texts:
        texts.append(text)
    return texts.index(text) + 1


def _reason_number(path: Path, reason: str) -> int:
    """The line number of ``reason`` in the reasons file ``path``, appended if it is new."""
    reason = " ".join(reason.split())  # one line
    texts = path.read_text().splitlines() if path.is_file() else []
    if reason in texts:
        return texts.index(reason) + 1
    with path.open("a") as file:
        file.write(f"{reason}\n")
    return len(texts) + 1
