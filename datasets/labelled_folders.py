"""Single-date images with their masks, in the folder layouts of the data sets the released
Changen2 weights were trained on, cut into square tiles: the sources of change synthesis from
labelled imagery.

- ``xview2`` (xView2 / xBD, as torchgeo's ``XView2`` reads it): ``images/*_pre_disaster.png``
  with ``targets/*_pre_disaster_target.png`` (0 background, 1-4 building, by damage after the
  disaster; before it, 1), in the folder or any folder below it (``train/``, ``tier3/``, ...).
  Masks are building (1) on background (0); post-disaster images are left out.
- ``oem`` (OpenEarthMap): ``images/*.tif`` with ``labels/*.tif`` of the same name, in the folder or
  in one folder per region below it. Codes 0 unknown, 1 bareland, 2 rangeland, 3 developed space,
  4 road, 5 tree, 6 water, 7 agriculture land, 8 building; other values read as 0.

A sample: ``image`` uint8 (3, size, size) RGB, ``mask`` int64 (size, size) class codes, ``name``.
Tiles are taken row-major from each image (partial edge tiles dropped), images in name order.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import rasterio
import torch
from PIL import Image
from rasterio.windows import Window
from torch.utils.data import Dataset

from terrasynth.core.errors import CorpusError


@dataclass(frozen=True)
class FolderLayout:
    """Where a data set keeps its images and masks (relative to an ``images`` folder's parent)."""

    images: str
    pattern: str
    masks: str
    mask_suffix: str
    classes: int

    def mask_of(self, image: Path) -> Path:
        return image.parent.parent / self.masks / f"{image.stem}{self.mask_suffix}"


LABELLED_LAYOUTS = {
    "xview2": FolderLayout("images", "*_pre_disaster.png", "targets", "_target.png", 1),
    "oem": FolderLayout("images", "*.tif", "labels", ".tif", 8),
}


def labelled_images(folder: Path, layout: str) -> list[tuple[Path, Path]]:
    """The (image, mask) files of ``layout`` in ``folder`` or below it, sorted; empty if none."""
    spec = LABELLED_LAYOUTS[layout]
    images = sorted(
        image
        for directory in [folder / spec.images, *folder.glob(f"**/{spec.images}")]
        if directory.is_dir()
        for image in directory.glob(spec.pattern)
    )
    return [(image, spec.mask_of(image)) for image in dict.fromkeys(images)]


def _read(path: Path, window: Window | None = None) -> np.ndarray:
    """(bands, H, W) values of a PNG or GeoTIFF (all of it, or ``window``)."""
    if path.suffix.lower() in (".tif", ".tiff"):
        with rasterio.open(path) as dataset:
            return dataset.read(window=window)
    with Image.open(path) as picture:
        values = np.asarray(picture)
    values = values[..., None] if values.ndim == 2 else values
    values = values.transpose(2, 0, 1)
    if window is not None:
        values = values[
            :, window.row_off : window.row_off + window.height, window.col_off : window.col_off + window.width
        ]
    return values


def _size(path: Path) -> tuple[int, int]:
    if path.suffix.lower() in (".tif", ".tiff"):
        with rasterio.open(path) as dataset:
            return dataset.height, dataset.width
    with Image.open(path) as picture:
        return picture.size[::-1]


class LabelledImageTiles(Dataset):
    """The ``size``-pixel tiles of a folder of labelled images in ``layout`` (see the module docstring)."""

    def __init__(self, folder: str | Path, layout: str, size: int):
        if layout not in LABELLED_LAYOUTS:
            raise CorpusError(
                f"labelled folder layout {layout!r} is unknown; use one of {', '.join(LABELLED_LAYOUTS)}"
            )
        self.folder, self.layout, self.size = Path(folder), layout, size
        spec = LABELLED_LAYOUTS[layout]
        self.tiles: list[tuple[Path, Path, int, int]] = []
        for image, mask in labelled_images(self.folder, layout):
            if not mask.is_file():
                raise CorpusError(
                    f"{image} has no mask {mask}: {layout} keeps each image's mask in {spec.masks}/"
                )
            height, width = _size(image)
            if _size(mask) != (height, width):
                raise CorpusError(f"{mask} is not the size of its image {image} ({height} x {width} px)")
            for row in range(0, height - size + 1, size):
                self.tiles += [(image, mask, row, col) for col in range(0, width - size + 1, size)]
        if not self.tiles:
            raise CorpusError(
                f"{self.folder} holds no {layout} image ({spec.images}/{spec.pattern} with {spec.masks}/) "
                f"of at least {size} x {size} px"
            )

    def __len__(self) -> int:
        return len(self.tiles)

    def __getitem__(self, index: int) -> dict:
        image_path, mask_path, row, col = self.tiles[index]
        window = Window(col, row, self.size, self.size)
        image = _read(image_path, window)
        if image.shape[0] not in (3, 4) or image.dtype != np.uint8:
            raise CorpusError(
                f"{image_path} is not an 8-bit RGB image ({image.shape[0]} bands of {image.dtype})"
            )
        codes = _read(mask_path, window)[0].astype(np.int64)
        classes = LABELLED_LAYOUTS[self.layout].classes
        codes = (
            np.where((codes >= 1) & (codes <= 4), 1, 0)
            if classes == 1
            else np.where(codes <= classes, codes, 0)
        )
        return {
            "image": torch.from_numpy(np.ascontiguousarray(image[:3])),
            "mask": torch.from_numpy(codes),
            "name": f"{image_path.stem}_r{row}_c{col}",
        }
