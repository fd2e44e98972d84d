#!/usr/bin/env python3
"""Write a tiny SECOND: ``{train,test}/{im1,im2,label1,label2}/*.png``, RGB pairs whose label maps
are SECOND colour maps: white (unchanged) except one changed rectangle, whose values at the two
dates are returned for checking. Run ``python tests/data/second/data.py OUT_DIR``."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from terrasynth.core import SECOND, second_to_rgb, write_png

PAIRS = {"train": 2, "test": 1}


def write_second(root, *, size: int = 64, pairs: dict[str, int] = PAIRS, seed: int = 0) -> dict:
    """Write the pairs under ``root``; returns {(split, stem): (value at t1, value at t2)}."""
    root, rng = Path(root), np.random.default_rng(seed)
    changes = {}
    for split, count in pairs.items():
        for i in range(count):
            before_value, after_value = (int(v) for v in rng.choice(np.arange(1, 7), 2, replace=False))
            values = np.zeros((2, size, size), np.uint8)
            values[0, : size // 2, size // 4 :] = before_value
            values[1, : size // 2, size // 4 :] = after_value
            name = f"{i:05d}.png"
            for folder, image_value in zip(SECOND.images, (40, 200), strict=True):
                write_png(root / split / folder / name, np.full((size, size, 3), image_value, np.uint8))
            for folder, value_map in zip(SECOND.labels, values, strict=True):
                write_png(root / split / folder / name, second_to_rgb(value_map))
            changes[(split, f"{i:05d}")] = (before_value, after_value)
    return changes


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(f"usage: python {sys.argv[0]} OUT_DIR")
    print(write_second(sys.argv[1]))
