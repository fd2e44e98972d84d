"""The square tiles of a folder of unlabelled images, with k-means pseudo-masks: the source of
change synthesis from imagery without labels (a Changen2 model trained with ``--mask pseudo``).

Images are PNG or JPEG pictures (RGB as displayed) or GeoTIFFs (reflectance), cut into ``size`` x
``size`` tiles, row-major from each image (partial edge tiles dropped), images in name order.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import rasterio
import torch
from PIL import Image
from rasterio.windows import Window
from torch.utils.data import Dataset

from terrasynth.core.errors import ConfigError
from terrasynth.core.seeds import key_seed
from terrasynth.datasets.changen2_inputs import MaskedImageModel
from terrasynth.datasets.pictures import from_picture

RASTER_SUFFIXES = (".tif", ".tiff")
PICTURE_SUFFIXES = (".png", ".jpg", ".jpeg")


class ImageFolderTiles(Dataset):
    """The ``size``-pixel tiles of the images in a folder, with pseudo-masks.

    A sample: ``image`` float32 (C, size, size) reflectance, ``mask`` int64 pseudo-classes
    (k-means seeded by (seed, index)), ``name``. PNG/JPEG images are RGB as displayed and go to the
    model's RGB bands (the model must have three); GeoTIFFs hold reflectance (integers x 1e-4, or
    the file's scale) in the model's bands.
    """

    def __init__(self, folder: str | Path, size: int, model: MaskedImageModel, seed: int = 0):
        self.folder, self.size, self.model, self.seed = Path(folder), size, model, seed
        self.tiles = []
        for path in image_files(self.folder):
            if path.suffix.lower() in RASTER_SUFFIXES:
                with rasterio.open(path) as dataset:
                    height, width, bands = dataset.height, dataset.width, dataset.count
            else:
                with Image.open(path) as picture:
                    (width, height), bands = picture.size, 3
            if bands != model.channels:
                raise ConfigError(f"{path} has {bands} bands but the model draws {model.channels}")
            for row in range(0, height - size + 1, size):
                self.tiles += [(path, row, col) for col in range(0, width - size + 1, size)]
        if not self.tiles:
            raise ConfigError(
                f"{self.folder} holds no PNG, JPEG or GeoTIFF image of at least {size} x {size} px"
            )

    def __len__(self) -> int:
        return len(self.tiles)

    def __getitem__(self, index: int) -> dict:
        path, row, col = self.tiles[index]
        image = torch.from_numpy(self._read(path, row, col))
        generator = torch.Generator().manual_seed(key_seed(self.seed, "mask", index))
        mask = self.model.encoding.pseudo_mask(image, generator=generator)
        return {"image": image, "mask": mask, "name": f"{path.stem}_r{row}_c{col}"}

    def _read(self, path: Path, row: int, col: int) -> np.ndarray:
        size = self.size
        if path.suffix.lower() in RASTER_SUFFIXES:
            with rasterio.open(path) as dataset:
                values = dataset.read(window=Window(col, row, size, size)).astype(np.float32)
                integer = np.issubdtype(np.dtype(dataset.dtypes[0]), np.integer)
                scale = dataset.scales[0] if dataset.scales[0] != 1.0 else (1e-4 if integer else 1.0)
            return values * np.float32(scale)
        with Image.open(path) as picture:
            rgb = np.asarray(picture.convert("RGB"))[row : row + size, col : col + size]
        return from_picture(rgb.transpose(2, 0, 1), self.model)


def image_files(folder: Path) -> list[Path]:
    """The PNG, JPEG and GeoTIFF files of ``folder``, sorted."""
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in RASTER_SUFFIXES + PICTURE_SUFFIXES)
