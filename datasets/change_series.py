"""Pairs of dates drawn from a change time series (the Zarr layout of
``terrasynth.core.change_data``), and :func:`open_change_set` for terrasynth's synthetic change
sets in either of their two forms (a Zarr series, or PNG folders in the LEVIR-CD layout).
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal, cast

import numpy as np
import torch
import xarray as xr
import zarr
from torchgeo.datasets import NonGeoDataset

from terrasynth.core.corpus import REFLECTANCE_SCALE
from terrasynth.core.errors import ConfigError, CorpusError
from terrasynth.datasets.levircd import LEVIRCDFolder

DIMS = {
    "image": ("series", "time", "band", "y", "x"),
    "semantic": ("series", "time", "y", "x"),
    "change": ("series", "time", "y", "x"),
}


class ChangeSeriesPairs(NonGeoDataset):
    """Every pair of dates ``t1 < t2`` (or every consecutive pair) of every series, as change pairs.

    A sample:

    - ``image``: float32 (2, C, H, W) in [0, 1]: uint8 images / 255, uint16 reflectance x 1e-4
      clipped to [0, 1];
    - ``mask``: int64 (H, W), 1 where the scene changed at any step after ``t1`` up to ``t2``
      (the union of the series' ``change`` maps over those steps);
    - ``semantic``: int64 (2, H, W), the series' class codes at both dates (0 = unknown);
    - ``name``: ``s<series>_t<t1>_t<t2>``, with ``_r<row>_c<col>`` (pixel offsets) for crops.

    Pairs are numbered series by series, then pair, then crop (row-major).
    """

    def __init__(
        self,
        path: str | Path,
        *,
        pairs: Literal["all", "consecutive"] = "all",
        crop_size: int | None = None,
        transforms: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
    ) -> None:
        """Index a series store.

        Args:
            path: the Zarr store.
            pairs: ``"all"`` pairs of dates ``t1 < t2``, or only ``"consecutive"`` ones.
            crop_size: cut each image into square crops of this many pixels (must divide the size).
            transforms: applied to each sample dict.
        """
        self.path = Path(path)
        try:
            ds = xr.open_dataset(self.path, engine="zarr", consolidated=False, chunks=None)
        except Exception as error:
            raise CorpusError(f"{self.path} cannot be opened as a change series (Zarr): {error}") from None
        for name, dims in DIMS.items():
            if name not in ds:
                raise CorpusError(f"{self.path}: variable {name!r} is missing from the change series")
            if ds[name].dims != dims:
                raise CorpusError(f"{self.path}: {name} has dimensions {ds[name].dims}, expected {dims}")
        n_series, n_time, _, rows, cols = ds["image"].shape
        if n_time < 2:
            raise CorpusError(f"{self.path}: a series needs at least two dates, it has {n_time}")
        if pairs == "all":
            self.pairs = list(itertools.combinations(range(n_time), 2))
        elif pairs == "consecutive":
            self.pairs = [(t, t + 1) for t in range(n_time - 1)]
        else:
            raise ConfigError(f"pairs must be 'all' or 'consecutive', got {pairs!r}")
        if crop_size is not None and (crop_size < 1 or rows % crop_size or cols % crop_size):
            raise ConfigError(
                f"crop_size {crop_size} does not divide the {rows} x {cols} images of {self.path}"
            )
        self.n_series = n_series
        self.crop_size = crop_size
        self.crop_shape = (crop_size, crop_size) if crop_size else (rows, cols)
        self.crops = (rows // self.crop_shape[0], cols // self.crop_shape[1])
        dtype = ds["image"].dtype
        if dtype == np.uint8:
            self.scale = 1.0 / 255.0
        elif dtype == np.uint16:
            self.scale = float(ds["image"].attrs.get("reflectance_scale", REFLECTANCE_SCALE))
        else:
            raise CorpusError(f"{self.path}: image must be uint8 or uint16 (reflectance x 1e4), got {dtype}")
        self.transforms = transforms
        self._arrays: tuple[int, zarr.Group] | None = None

    def _group(self) -> zarr.Group:
        """The store, opened once per process (DataLoader workers open their own)."""
        if self._arrays is None or self._arrays[0] != os.getpid():
            self._arrays = (os.getpid(), zarr.open_group(str(self.path), mode="r"))
        return self._arrays[1]

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_arrays": None}

    def __len__(self) -> int:
        return self.n_series * len(self.pairs) * self.crops[0] * self.crops[1]

    def __getitem__(self, index: int) -> dict[str, Any]:
        if not 0 <= index < len(self):
            raise IndexError(f"index {index} is out of range for {len(self)} samples")
        per_pair = self.crops[0] * self.crops[1]
        series, rest = divmod(index, len(self.pairs) * per_pair)
        pair, crop = divmod(rest, per_pair)
        t1, t2 = self.pairs[pair]
        height, width = self.crop_shape
        row, col = (crop // self.crops[1]) * height, (crop % self.crops[1]) * width
        rows, cols = slice(row, row + height), slice(col, col + width)
        group = self._group()
        # __init__ checked that the store holds these variables: arrays, not groups
        arrays = {name: cast(zarr.Array, group[name]) for name in DIMS}
        image = np.stack([arrays["image"][series, t, :, rows, cols] for t in (t1, t2)])
        image = np.clip(image.astype(np.float32) * np.float32(self.scale), 0.0, 1.0)
        changed = np.any(arrays["change"][series, t1 + 1 : t2 + 1, rows, cols], axis=0)
        semantic = np.stack([arrays["semantic"][series, t, rows, cols] for t in (t1, t2)])
        name = f"s{series}_t{t1}_t{t2}"
        if self.crop_size:
            name += f"_r{row}_c{col}"
        sample = {
            "image": torch.from_numpy(image),
            "mask": torch.from_numpy(changed.astype(np.int64)),
            "semantic": torch.from_numpy(semantic.astype(np.int64)),
            "name": name,
        }
        if self.transforms is not None:
            sample = self.transforms(sample)
        return sample


def open_change_set(
    path: str | Path, split: str | None = None, **options
) -> ChangeSeriesPairs | LEVIRCDFolder:
    """A synthetic change set: a Zarr series (:class:`ChangeSeriesPairs`) or PNG folders in the
    LEVIR-CD layout (:class:`LEVIRCDFolder`, ``split`` None when ``path`` holds ``A/B/label``).
    ``options`` go to the dataset (``crop_size``, ``pairs``, ``transforms``)."""
    path = Path(path)
    if (path / "zarr.json").is_file() or (path / ".zgroup").is_file():
        return ChangeSeriesPairs(path, **options)
    if path.is_dir():
        return LEVIRCDFolder(path, split, **options)
    raise CorpusError(f"{path} is neither a Zarr change series nor a folder in the LEVIR-CD layout")
