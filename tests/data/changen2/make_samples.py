"""Corpus-like samples for the Changen2 training and synthesis tests: images rendered from the
land-cover masks of ``make_masks.py`` (a reflectance per class and band, plus a little noise).

Run ``python tests/data/changen2/make_samples.py OUT_DIR`` to write them as .npy files
(image, landcover) for a look.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

_spec = importlib.util.spec_from_file_location(
    "changen2_make_masks", Path(__file__).with_name("make_masks.py")
)
make_masks = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(make_masks)

SPECTRA = {
    10: (0.03, 0.05, 0.03, 0.30),  # trees: blue, green, red, near infrared
    30: (0.05, 0.09, 0.06, 0.25),
    40: (0.07, 0.10, 0.09, 0.32),
    50: (0.14, 0.13, 0.15, 0.19),  # built-up
    60: (0.16, 0.17, 0.20, 0.24),
    80: (0.05, 0.04, 0.02, 0.01),  # water
}
"""Reflectance of each WorldCover class in bands B2, B3, B4, B8."""


def render(landcover: np.ndarray, channels: int = 4, seed: int = 0) -> np.ndarray:
    """(channels, H, W) float32 reflectance of a WorldCover mask: the class spectra (the first
    ``channels`` bands) plus Gaussian noise of 0.005."""
    lookup = np.zeros((256, 4), np.float32)
    for code, spectrum in SPECTRA.items():
        lookup[code] = spectrum
    image = lookup[landcover].transpose(2, 0, 1)[:channels]
    noise = np.random.default_rng(seed).normal(0, 0.005, image.shape).astype(np.float32)
    return np.clip(image + noise, 0, 1)


class MaskedTiles(Dataset):
    """``count`` corpus samples (``image``, ``landcover``, ``valid``) of ``size`` x ``size`` pixels."""

    def __init__(self, count: int = 4, size: int = 32, channels: int = 4):
        self.count, self.size, self.channels = count, size, channels

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, index: int) -> dict:
        landcover = make_masks.landcover_mask((self.size, self.size), seed=index)
        return {
            "image": torch.from_numpy(render(landcover, self.channels, seed=index)),
            "landcover": torch.from_numpy(landcover.astype(np.int64)),
            "valid": torch.ones(self.size, self.size, dtype=torch.bool),
        }


if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
    out.mkdir(parents=True, exist_ok=True)
    for index, sample in enumerate(MaskedTiles()):
        np.save(out / f"image{index}.npy", sample["image"].numpy())
        np.save(out / f"landcover{index}.npy", sample["landcover"].numpy())
