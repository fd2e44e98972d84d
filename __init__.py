"""terrasynth: generated Earth imagery and change data for remote-sensing machine learning.

Each top-level folder of the repository is a subpackage: ``terrasynth.core``, ``terrasynth.ingest``,
``terrasynth.datasets``, ``terrasynth.models``, ``terrasynth.evaluation`` and ``terrasynth.workflows``.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("terrasynth")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"
