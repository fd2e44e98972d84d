"""The shared reader of bitemporal change data sets stored as image folders (LEVIR-CD, S2Looking, SECOND).

A split holds one folder per image date and per label map (``terrasynth.core.change_data``
layouts), with the same file names in each: PNG as published, or JPEG or TIFF, matched by name
without extension. The folders are checked when the data set is built (every folder present, a
file of each pair in each, the missing ones named); image and label sizes are checked, and a
damaged file is named, as each pair is read. Images may be cut into square crops (e.g. 1024 x
1024 into 16 crops of 256), numbered row-major within each image.

A sample (the change pair convention shared with evaluation and models):

- ``image``: float32 (2, C, H, W) in [0, 1], the two dates stacked (8-bit values / 255, 16-bit
  values / 65535);
- ``mask``: int64 (H, W), 1 where the scene changed, else 0;
- ``name``: str, the file stem, with ``_r<row>_c<col>`` (pixel offsets) for crops;
- SECOND only: ``semantic`` int64 (2, H, W), the class values 0-6 at each date.
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torchgeo.datasets import NonGeoDataset

from terrasynth.core.change_data import IMAGE_SUFFIXES, ChangeLayout, image_size, read_image, read_png
from terrasynth.core.errors import ConfigError, CorpusError

_NAMED = 3  # missing files named in a message, before "and N more"


class ChangeFolder(NonGeoDataset):
    """Bitemporal image pairs in one of the :class:`~terrasynth.core.change_data.ChangeLayout` layouts.

    Subclasses name the ``layout`` and turn a pair's label maps into sample entries
    (:meth:`_labels`).
    """

    layout: ChangeLayout
    rgb_labels = False
    """Read label maps as RGB (True) or as stored."""

    def __init__(
        self,
        root: str | Path,
        split: str | None = "train",
        *,
        crop_size: int | None = None,
        transforms: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
    ) -> None:
        """Index a split.

        Args:
            root: the data set's folder (holding the split folders).
            split: one of the layout's splits, or None when ``root`` itself holds the image and
                label folders (a synthetic change set written in this layout).
            crop_size: cut each image into square crops of this many pixels (must divide the
                image size); None reads whole images.
            transforms: applied to each sample dict.
        """
        self.root = Path(root)
        if split is not None and split not in self.layout.splits:
            raise ConfigError(f"{self.layout.name} has splits {list(self.layout.splits)}, not {split!r}")
        self.split = split
        self.directory = self.root / split if split else self.root
        self.folders = (*self.layout.images, *self.layout.labels)
        self.files = self._pair_files()
        self.names = sorted(self.files[self.folders[0]].values())
        self.size = image_size(self.directory / self.layout.images[0] / self.names[0])
        self.crop_size = crop_size
        rows, cols = self.size
        if crop_size is not None and (crop_size < 1 or rows % crop_size or cols % crop_size):
            raise ConfigError(
                f"crop_size {crop_size} does not divide the {rows} x {cols} images of {self.directory}"
            )
        self.crops = (rows // crop_size, cols // crop_size) if crop_size else (1, 1)
        self.transforms = transforms
        self._cache: tuple[str, dict[str, np.ndarray]] | None = None

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_cache": None}  # workers start without the last pair's pixels

    def _pair_files(self) -> dict[str, dict[str, str]]:
        """Each folder's image files by name without extension, checked to hold every pair."""
        where = self.directory
        layout = (
            f"a {self.layout.name} split holds the folders {{{'/'.join(self.folders)}}} with one image "
            f"per pair in each, under the same name ({', '.join(IMAGE_SUFFIXES)})"
        )
        if not where.is_dir():
            raise CorpusError(f"{where} does not exist: {layout}")
        files = {}
        for folder in self.folders:
            if not (where / folder).is_dir():
                raise CorpusError(f"{where / folder} is missing: {layout}")
            listing = sorted(p.name for p in (where / folder).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
            files[folder] = {Path(name).stem: name for name in listing}
        first = self.folders[0]
        if not files[first]:
            others = sorted({p.suffix or p.name for p in (where / first).iterdir()})
            found = f"; it holds only {', '.join(others)} files" if others else ""
            raise CorpusError(f"{where / first} holds no images{found}: {layout}")
        pairs = set().union(*(names.keys() for names in files.values()))
        lacking = []
        for folder, names in files.items():
            missing = sorted(pairs - names.keys())
            if missing:
                shown = ", ".join(next(f[m] for f in files.values() if m in f) for m in missing[:_NAMED])
                more = f" and {len(missing) - _NAMED} more" if len(missing) > _NAMED else ""
                lacking.append(f"{folder} lacks {shown}{more}")
        if lacking:
            raise CorpusError(
                f"{where}: every pair needs an image in each of {', '.join(self.folders)}: {'; '.join(lacking)}"
            )
        return files

    def __len__(self) -> int:
        return len(self.names) * self.crops[0] * self.crops[1]

    def __getitem__(self, index: int) -> dict[str, Any]:
        """The pair (or crop) at ``index``; crops of one image are consecutive."""
        if not 0 <= index < len(self):
            raise IndexError(f"index {index} is out of range for {len(self)} samples")
        pair, crop = divmod(index, self.crops[0] * self.crops[1])
        name = self.names[pair]
        arrays = self._read_pair(name)
        stem = Path(name).stem
        if self.crop_size:
            size = self.crop_size
            row, col = (crop // self.crops[1]) * size, (crop % self.crops[1]) * size
            arrays = {key: value[..., row : row + size, col : col + size] for key, value in arrays.items()}
            stem = f"{stem}_r{row}_c{col}"
        sample: dict[str, Any] = {key: torch.from_numpy(np.ascontiguousarray(v)) for key, v in arrays.items()}
        sample["name"] = stem
        if self.transforms is not None:
            sample = self.transforms(sample)
        return sample

    def _read_pair(self, name: str) -> dict[str, np.ndarray]:
        """The whole pair as arrays (the last one is kept, as its crops are usually read in a row)."""
        if self._cache is not None and self._cache[0] == name:
            return self._cache[1]
        dates = [self._read(read_image, folder, name) for folder in self.layout.images]
        image = np.stack([d.transpose(2, 0, 1) for d in dates])
        labels = {
            folder: self._read(lambda path: read_png(path, rgb=self.rgb_labels), folder, name)
            for folder in self.layout.labels
        }
        arrays = {"image": image, **self._labels(labels, name)}
        self._cache = (name, arrays)
        return arrays

    def _read(self, reader: Callable[[Path], np.ndarray], folder: str, name: str) -> np.ndarray:
        """``reader`` of the file of pair ``name`` in ``folder``, checked for size."""
        path = self.directory / folder / self.files[folder][Path(name).stem]
        array = reader(path)
        if array.shape[:2] != self.size:
            rows, cols = array.shape[:2]
            raise CorpusError(
                f"{path} is {rows} x {cols} pixels but {self.layout.images[0]}/{self.names[0]} is "
                f"{self.size[0]} x {self.size[1]}: every image and label must have one size"
            )
        return array

    @abc.abstractmethod
    def _labels(self, labels: dict[str, np.ndarray], name: str) -> dict[str, np.ndarray]:
        """Sample entries from a pair's label maps (folder -> array as stored)."""


def binary_change(label: np.ndarray, where: str) -> np.ndarray:
    """A 0/255 (or 0/1, or 16-bit 0/65535) change label map, grey or colour, as an int64 0/1 mask."""
    values = np.unique(label)
    unknown = values[~np.isin(values, (0, 1, 255, 65535))]
    if unknown.size:
        raise CorpusError(
            f"{where}: change labels must be 0 and 255 (or 0 and 1, or 16-bit 0 and 65535), found {int(unknown[0])}"
        )
    mask = label > 0
    return (np.any(mask, axis=-1) if mask.ndim == 3 else mask).astype(np.int64)
