#!/usr/bin/env python3
"""Write a tiny LEVIR-CD: ``{train,val,test}/{A,B,label}/*.png``, RGB pairs with one changed
rectangle each and its 0/255 label. Run ``python tests/data/levircd/data.py OUT_DIR``."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from terrasynth.core import LEVIR_CD, write_png

PAIRS = {"train": 2, "val": 1, "test": 1}


def write_levircd(root, *, size: int = 64, pairs: dict[str, int] = PAIRS, seed: int = 0) -> Path:
    """Write the pairs under ``root`` and return it; the label marks where B differs from A."""
    root, rng = Path(root), np.random.default_rng(seed)
    before_folder, after_folder = LEVIR_CD.images
    for split, count in pairs.items():
        for i in range(count):
            before = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
            after = before.copy()
            label = np.zeros((size, size), np.uint8)
            r, c = rng.integers(0, size // 2, 2)
            after[r : r + size // 4, c : c + size // 4] = 255 - after[r : r + size // 4, c : c + size // 4]
            label[r : r + size // 4, c : c + size // 4] = 255
            name = f"{split}_{i + 1}.png"
            write_png(root / split / before_folder / name, before)
            write_png(root / split / after_folder / name, after)
            write_png(root / split / "label" / name, label)
    return root


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(f"usage: python {sys.argv[0]} OUT_DIR")
    print(write_levircd(sys.argv[1]))
