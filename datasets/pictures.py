"""Pictures (8-bit RGB, as displayed) in the image values of a Changen2 model, and back.

A model of reflectance (``pixel_values="reflectance"``) sees a picture through the inverse of
:mod:`terrasynth.core.display`'s mapping; a model of 8-bit values (the converted released weights)
sees value / 255. Either way the picture goes to the model's RGB bands.
"""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import Dataset

from terrasynth.core.display import from_display, to_display
from terrasynth.datasets.changen2_inputs import ImageValues
from terrasynth.datasets.map_style import MapStyleDataset


def from_picture(rgb: np.ndarray, model: ImageValues) -> np.ndarray:
    """(3, H, W) uint8 RGB -> (C, H, W) float32 image values of ``model`` in its RGB bands:
    value / 255 for an 8-bit model, else reflectance through the inverse display mapping."""
    image = np.zeros((model.channels, *rgb.shape[1:]), np.float32)
    eight_bit = model.pixel_values == "8bit"
    image[list(model.rgb_bands)] = rgb.astype(np.float32) / 255 if eight_bit else from_display(rgb)
    return image


def to_picture(image: torch.Tensor, model: ImageValues) -> np.ndarray:
    """(C, H, W) image values of ``model`` -> (H, W, 3) uint8 picture of its RGB bands
    (:func:`from_picture`'s inverse)."""
    rgb = image[list(model.rgb_bands)].permute(1, 2, 0).float().cpu().numpy()
    if model.pixel_values == "8bit":
        return (np.clip(rgb, 0, 1) * 255 + 0.5).astype(np.uint8)
    return to_display(rgb)


class ModelValueTiles(Dataset):
    """The samples of ``tiles`` (``image`` uint8 (3, H, W) pictures, e.g. those of
    :class:`~terrasynth.datasets.LabelledImageTiles`) with their images in ``model``'s values."""

    def __init__(self, tiles: MapStyleDataset, model: ImageValues):
        self.tiles, self.model = tiles, model

    def __len__(self) -> int:
        return len(self.tiles)

    def __getitem__(self, index: int) -> dict:
        sample = self.tiles[index]
        return {**sample, "image": torch.from_numpy(from_picture(sample["image"].numpy(), self.model))}
