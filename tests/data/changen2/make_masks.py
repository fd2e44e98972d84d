"""Fixture masks for the Changen2 tests: a binary building mask and a WorldCover land-cover mask,
each with large components and small specks (64 px or fewer). Run as a script to write them as
.npy files: ``python tests/data/changen2/make_masks.py OUT_DIR``."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

SPECK = 5  # 5 x 5 = 25 px: below the 32 m² of the change events at 1 m per pixel
BUILDING = 250  # terrasynth.core.landcover.BUILDING


def building_mask(size: tuple[int, int] = (128, 128), seed: int = 0) -> np.ndarray:
    """(H, W) uint8: 0 background, 1 building; about ten rectangular buildings and four specks."""
    rng = np.random.default_rng(seed)
    mask = np.zeros(size, np.uint8)
    height, width = size
    for _ in range(10):
        h, w = rng.integers(9, 20, 2)
        top, left = rng.integers(0, height - h), rng.integers(0, width - w)
        mask[top : top + h, left : left + w] = 1
    for _ in range(4):
        top, left = rng.integers(0, height - SPECK), rng.integers(0, width - SPECK)
        mask[top : top + SPECK, left : left + SPECK] = 1
    return mask


def landcover_mask(size: tuple[int, int] = (128, 128), seed: int = 0) -> np.ndarray:
    """(H, W) uint8 WorldCover codes: Voronoi patches of tree/grass/crop/water/bare, a few building
    footprints (250) and a built-up (50) road across, and small specks of every class."""
    rng = np.random.default_rng(seed)
    height, width = size
    codes = np.array([10, 30, 40, 60, 80], np.uint8)
    centres = rng.uniform(0, 1, (14, 2)) * (height, width)
    rows, cols = np.mgrid[:height, :width]
    nearest = np.argmin(
        (rows[..., None] - centres[:, 0]) ** 2 + (cols[..., None] - centres[:, 1]) ** 2, axis=-1
    )
    mask = codes[rng.integers(0, len(codes), len(centres))][nearest]
    for _ in range(6):
        h, w = rng.integers(9, 16, 2)
        top, left = rng.integers(0, height - h), rng.integers(0, width - w)
        mask[top : top + h, left : left + w] = BUILDING
    mask[height // 2 : height // 2 + 4] = 50
    for code in (*codes, 50, BUILDING):
        top, left = rng.integers(0, height - SPECK), rng.integers(0, width - SPECK)
        mask[top : top + SPECK, left : left + SPECK] = code
    return mask


if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).parent)
    out.mkdir(parents=True, exist_ok=True)
    np.save(out / "buildings.npy", building_mask())
    np.save(out / "landcover.npy", landcover_mask())
