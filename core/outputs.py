"""Output locations: checked before any work starts, and files written under a temporary name.

Every command that writes calls :func:`check_output` first (and :func:`check_free_space` once it
knows the size), so that a read-only disk, a path under a file, an existing output or a full disk
is refused in one line before minutes of work, not after. :func:`atomic_path` gives the temporary
name a file or folder is written under: it appears under its own name only once it is complete,
and nothing is left behind when the writing fails.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from terrasynth.core.errors import ConfigError


def check_output(path: str | Path, *, overwrite: bool = False, folder: bool = False) -> Path:
    """The output ``path``, once it is shown that it can be written; nothing is created.

    Args:
        path: a file to write, or with ``folder`` a folder to fill.
        overwrite: an existing file may be replaced (``--overwrite``); without it, it is refused.
        folder: ``path`` is a folder to fill; it must not exist yet, or be empty.

    Raises:
        ConfigError: the file exists (without ``overwrite``), the folder holds files, a folder
            is where a file is expected or the reverse, a file is in the way of a parent folder,
            or the nearest existing folder cannot be written to (read-only, no permission, a
            system folder like /proc).
    """
    path = Path(path)
    if folder and path.exists() and not path.is_dir():
        raise ConfigError(f"{path} is a file: give a folder for the outputs")
    if folder and path.is_dir() and any(path.iterdir()):
        raise ConfigError(f"{path} is not empty: give a new folder (or an empty one) for the outputs")
    if not folder and path.is_dir():
        raise ConfigError(f"{path} is a folder: give the path of a file to write (in it, or elsewhere)")
    if not folder and path.exists() and not overwrite:
        raise ConfigError(f"{path} exists: pass --overwrite to replace it, or give another path")
    base = _nearest_existing(path if folder else path.parent)
    if not base.is_dir():
        raise ConfigError(f"{base} is a file, so {path} cannot be written under it: give another path")
    try:
        with tempfile.TemporaryFile(dir=base):
            pass
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise ConfigError(f"cannot write in {base} ({reason}): give a path where you can write") from None
    return path


def check_free_space(path: str | Path, size_bytes: int, what: str = "") -> None:
    """Refuse an output of about ``size_bytes`` that the disk holding ``path`` has no room for;
    ``what`` describes the output in the message (e.g. its size in pixels)."""
    base = _nearest_existing(Path(path))
    free = shutil.disk_usage(base if base.is_dir() else base.parent).free
    if size_bytes > free:
        raise ConfigError(
            f"{path}{f' ({what})' if what else ''} needs up to {format_bytes(size_bytes)} but {base} has "
            f"{format_bytes(free)} free: ask for less, free some space or write elsewhere"
        )


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """The temporary name (``.<name>.partial`` beside ``path``) to write a file or fill a folder
    under; it is renamed to ``path`` when the block ends without an error, and removed when it fails.

    Whatever writes it (Pillow, safetensors, ``write_text``, ``torch.save``, a model's
    ``save_pretrained``, ``to_zarr``) must be told the format, as the name ends in ``.partial``.
    What an earlier, killed write left under the temporary name is removed first. An existing
    ``path`` is replaced only once the new one is complete (a folder: deleted, then the new one
    renamed into place).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = partial_path(path)
    _remove(partial)
    try:
        yield partial
        replace_path(partial, path)
    finally:
        _remove(partial)


def partial_path(path: str | Path) -> Path:
    """The temporary name of ``path`` while it is written: ``.<name>.partial`` beside it. A writer
    whose temporary folder outlives one ``with`` block (filled by several processes, or resumed by
    a rerun) fills this one and finishes with :func:`replace_path`, as :func:`atomic_path` does."""
    path = Path(path)
    return path.with_name(f".{path.name}.partial")


def replace_path(partial: Path, path: Path) -> None:
    """Rename the complete ``partial`` to ``path`` (a folder at ``path`` is deleted first)."""
    if partial.is_dir() and path.is_dir():
        shutil.rmtree(path)
    os.replace(partial, path)


def _remove(path: Path) -> None:
    """Delete the file or folder at ``path``, if there is one."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


def format_bytes(size: float) -> str:
    """``size`` bytes in decimal units: ``"4.3 GB"``."""
    units = ("B", "kB", "MB", "GB", "TB", "PB")
    power = 0
    while size >= 1000 and power < len(units) - 1:
        size, power = size / 1000, power + 1
    return f"{size:.0f} B" if power == 0 else f"{size:.1f} {units[power]}"


def _nearest_existing(path: Path) -> Path:
    path = path.absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path
