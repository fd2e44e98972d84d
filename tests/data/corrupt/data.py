#!/usr/bin/env python3
"""Damage a corpus or a run folder the way disks, kills and users do, for the tests of refusals (``generators("corrupt")`` in tests).

Corpus chunks are Zarr v3 chunk files (``<group>/<variable>/c/<i>/<j>[/<k>]``); a level is a group
``<region>/<level>``. Every function returns the path it damaged, so a test can name it in the
error it expects.

Run ``python tests/data/corrupt/data.py delete-chunk CORPUS r00_utm32n/16m image`` (or
``truncate-chunk``, ``drop-level CORPUS r00_utm32n/60m``, ``truncate FILE``) to do it by hand.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path


def chunk_files(store: str | Path, group: str, variable: str) -> list[Path]:
    """The chunk files of ``variable`` in ``group`` (e.g. ``r00_utm32n/16m``, ``image``), sorted."""
    root = Path(store, group, variable, "c")
    return sorted(path for path in root.rglob("*") if path.is_file())


def delete_chunk(store: str | Path, group: str, variable: str, index: int = 0) -> Path:
    """Delete one chunk file (the ``index``-th in sorted order) of ``variable``."""
    path = chunk_files(store, group, variable)[index]
    path.unlink()
    return path


def truncate_chunk(store: str | Path, group: str, variable: str, index: int = 0) -> Path:
    """Cut one chunk file of ``variable`` to half its bytes."""
    return truncate_file(chunk_files(store, group, variable)[index])


def drop_level(store: str | Path, group: str) -> Path:
    """Remove a whole level group (its metadata and chunks), e.g. ``r00_utm32n/60m``."""
    path = Path(store, group)
    shutil.rmtree(path)
    return path


def truncate_file(path: str | Path, fraction: float = 0.5) -> Path:
    """Keep only the first ``fraction`` of a file's bytes (0 leaves it empty)."""
    path = Path(path)
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * fraction)])
    return path


if __name__ == "__main__":
    action, *args = sys.argv[1:]
    actions = {
        "delete-chunk": delete_chunk,
        "truncate-chunk": truncate_chunk,
        "drop-level": drop_level,
        "truncate": truncate_file,
    }
    print(actions[action](*(int(arg) if arg.isdigit() else arg for arg in args)))
