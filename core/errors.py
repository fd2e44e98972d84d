"""Typed errors for failures the user can fix; each carries a one-line message.

The CLI prints ``str(error)`` on one line and exits with status 2 (full traceback with ``--debug``).
"""


class TerrasynthError(Exception):
    """A known failure with a one-line message that says what was wrong and how to fix it."""

    def __init__(self, message: str):
        super().__init__(" ".join(str(message).split()))


class ConfigError(TerrasynthError):
    """A configuration file or option is missing, malformed or out of range."""


class AOIError(TerrasynthError):
    """An area of interest is empty, invalid, self-intersecting or out of range."""


class GridError(TerrasynthError):
    """Grid or window arithmetic was asked something impossible (CRS mismatch, outside the grid)."""


class CorpusError(TerrasynthError):
    """A corpus on disk is malformed, incomplete or does not match what was asked of it."""


class SourceError(TerrasynthError):
    """A data source failed permanently (unknown asset, no permission, unreadable file)."""


class WeightsError(TerrasynthError):
    """Model weights are missing, do not match their expected hash, or do not fit the model."""


def describe_os_error(error: OSError) -> str:
    """One line for a file the system refused: what, which path, and what to do about it."""
    import errno

    path = " -> ".join(repr(str(name)) for name in (error.filename, error.filename2) if name is not None)
    reason = error.strerror or str(error) or type(error).__name__
    advices: dict[int | None, str] = {  # errno is None for an OSError raised without one
        errno.ENOSPC: "free some space or write elsewhere",
        errno.EDQUOT: "free some space or write elsewhere",
        errno.EACCES: "check the permissions or write elsewhere",
        errno.EPERM: "check the permissions or write elsewhere",
        errno.EROFS: "the file system is read-only: write elsewhere",
        errno.EISDIR: "a folder is where a file is expected: give a file path",
        errno.ENOTDIR: "a file is where a folder is expected: give a folder path",
        errno.ENOENT: "check the path",
        errno.EEXIST: "remove it or give another path",
    }
    advice = advices.get(error.errno, "check the path and the disk")
    return f"{reason}: {path}: {advice}" if path else f"{reason}: {advice}"
