#!/usr/bin/env python3
"""Write a tiny S2Looking: ``{train,val,test}/{Image1,Image2,label,label1,label2}/*.png``: RGB
pairs with one new and one demolished building each; ``label`` merges both (0/255), ``label1``
holds the new and ``label2`` the demolished one. Run ``python tests/data/s2looking/data.py OUT_DIR``."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from terrasynth.core import S2LOOKING, write_png

PAIRS = {"train": 2, "val": 1, "test": 1}


def write_s2looking(root, *, size: int = 64, pairs: dict[str, int] = PAIRS, seed: int = 0) -> Path:
    """Write the pairs under ``root`` and return it."""
    root, rng = Path(root), np.random.default_rng(seed)
    before_folder, after_folder = S2LOOKING.images
    side = size // 4
    for split, count in pairs.items():
        for i in range(count):
            before = rng.integers(0, 200, (size, size, 3), dtype=np.uint8)
            after = before.copy()
            new, demolished = np.zeros((size, size), np.uint8), np.zeros((size, size), np.uint8)
            after[:side, :side] = 250  # a new roof at the top left
            new[:side, :side] = 255
            before[-side:, -side:] = 250  # a roof at the bottom right, gone later
            demolished[-side:, -side:] = 255
            name = f"{i + 1}.png"
            write_png(root / split / before_folder / name, before)
            write_png(root / split / after_folder / name, after)
            write_png(root / split / "label" / name, np.maximum(new, demolished))
            write_png(root / split / "label1" / name, new)
            write_png(root / split / "label2" / name, demolished)
    return root


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(f"usage: python {sys.argv[0]} OUT_DIR")
    print(write_s2looking(sys.argv[1]))
