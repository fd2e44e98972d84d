"""One entry point to the change data sets by name: the public benchmarks and our own change sets."""

from __future__ import annotations

from pathlib import Path
from typing import get_args

from torch.utils.data import Dataset

from terrasynth.core.choices import ChangeDataset
from terrasynth.core.errors import ConfigError, CorpusError

CHANGE_DATASETS = get_args(ChangeDataset)
"""Names for :func:`open_change_dataset`; ``folder`` is a change set terrasynth wrote (LEVIR-CD
layout, with or without split folders, or a Zarr change series)."""


def open_change_dataset(kind: str, root: str | Path, split: str = "test", **options) -> Dataset:
    """The change pairs of one split of a data set, as change pair samples (full size by default).

    Args:
        kind: one of :data:`CHANGE_DATASETS`.
        root: the data set's folder (holding ``train/``, ``test/``, ...), or a change set.
        split: the split; for a ``folder`` without split folders (or a Zarr series) it is ignored.
        options: passed to the loader (``crop_size``, ``transforms``, ...).
    """
    from terrasynth.datasets.change_series import open_change_set
    from terrasynth.datasets.levircd import LEVIRCDFolder
    from terrasynth.datasets.s2looking import S2LookingFolder
    from terrasynth.datasets.second import SECONDFolder

    root = Path(root)
    if kind not in CHANGE_DATASETS:
        raise ConfigError(f"--dataset {kind!r} is unknown: use one of {', '.join(CHANGE_DATASETS)}")
    if not root.exists():
        raise CorpusError(f"{root} does not exist: give the folder that holds the {kind} data set")
    if kind == "folder":
        return open_change_set(root, split if (root / split).is_dir() else None, **options)
    loader = {"levir-cd": LEVIRCDFolder, "s2looking": S2LookingFolder, "second": SECONDFolder}[kind]
    return loader(root, split, **options)
