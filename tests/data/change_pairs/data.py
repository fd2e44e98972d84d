"""Synthetic change pair samples (the brief's "change pair sample" dicts), made in memory.

Each pair shows a textured background at two dates with slight radiometric differences; at the
second date rectangles ("buildings") appear in a bright colour. ``mask`` marks them; with
``semantic=True`` the SECOND-style ``semantic`` maps hold a class before (1-3) and after (5-6)
the change, 0 elsewhere.

Run ``python data.py OUT`` to write the pairs as a LEVIR-CD folder (``test/{A,B,label}``).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset


class ChangePairs(Dataset):
    """``count`` seeded pairs of ``size`` x ``size`` pixels, RGB in [0, 1]."""

    def __init__(self, count: int = 4, size: int = 64, *, semantic: bool = False, seed: int = 0):
        self.count, self.size, self.semantic, self.seed = count, size, semantic, seed

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, index: int) -> dict:
        if not 0 <= index < self.count:
            raise IndexError(f"pair {index} of {self.count}")
        rng = np.random.default_rng(self.seed * 1000 + index)
        size = self.size
        background = 0.3 + 0.1 * rng.random((3, size, size)).astype(np.float32)
        before = background.copy()
        after = background + 0.02 * rng.standard_normal((3, size, size)).astype(np.float32)
        mask = np.zeros((size, size), dtype=np.int64)
        semantic = np.zeros((2, size, size), dtype=np.int64)
        for _ in range(rng.integers(1, 4)):
            h, w = rng.integers(size // 8, size // 3, 2)
            y, x = rng.integers(0, size - h), rng.integers(0, size - w)
            mask[y : y + h, x : x + w] = 1
            after[:, y : y + h, x : x + w] = np.array([0.9, 0.5, 0.2], dtype=np.float32)[:, None, None]
            semantic[0, y : y + h, x : x + w] = rng.integers(1, 4)
            semantic[1, y : y + h, x : x + w] = rng.integers(5, 7)
        sample = {
            "image": torch.from_numpy(np.clip(np.stack([before, after]), 0, 1)),
            "mask": torch.from_numpy(mask),
            "name": f"pair{index:03d}",
        }
        if self.semantic:
            sample["semantic"] = torch.from_numpy(semantic)
        return sample


def write_levir_folder(root: str | Path, pairs: ChangePairs) -> Path:
    """The pairs as PNG files in the LEVIR-CD layout under ``root/test``."""
    from terrasynth.core.change_data import write_png

    root = Path(root)
    for sample in pairs:
        image = (sample["image"].numpy() * 255).round().astype(np.uint8)
        write_png(root / "test" / "A" / f"{sample['name']}.png", image[0].transpose(1, 2, 0))
        write_png(root / "test" / "B" / f"{sample['name']}.png", image[1].transpose(1, 2, 0))
        write_png(
            root / "test" / "label" / f"{sample['name']}.png", sample["mask"].numpy().astype(np.uint8) * 255
        )
    return root


if __name__ == "__main__":
    print(write_levir_folder(sys.argv[1], ChangePairs()))
