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
