"""Cascade training samples in memory: smooth reflectance at 4 m, its 16 m average, land cover.

The layout is the cascade sample dict of ``terrasynth.trainers.metaearth``. Run
``python tests/data/cascade_samples/data.py`` to print one sample.
"""

import torch
from torch.utils.data import Dataset


class CascadeSamples(Dataset):
    """``count`` deterministic samples of ``size`` x ``size`` pixels with ``channels`` bands."""

    def __init__(self, count: int = 8, size: int = 16, channels: int = 3, ratio: int = 4, seed: int = 0):
        g = torch.Generator().manual_seed(seed)
        coarse = torch.rand(count, channels, 4, 4, generator=g)
        self.images = 0.05 + 0.3 * torch.nn.functional.interpolate(coarse, size=(size, size), mode="bilinear")
        self.conditions = torch.nn.functional.avg_pool2d(self.images, ratio)
        brightness = self.images[:, 0]
        self.landcover = torch.where(brightness < 0.15, 80, torch.where(brightness < 0.25, 40, 10)).long()
        self.ratio = ratio

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> dict:
        return {
            "image": self.images[index],
            "condition": self.conditions[index],
            "gsd": torch.tensor(4.0),
            "condition_gsd": torch.tensor(4.0 * self.ratio),
            "landcover": self.landcover[index],
            "valid": torch.ones(self.images.shape[-2:], dtype=torch.bool),
            "crs": "EPSG:32632",
        }


if __name__ == "__main__":
    for key, value in CascadeSamples()[0].items():
        print(key, getattr(value, "shape", value), getattr(value, "dtype", ""))
