#!/usr/bin/env python3
"""Write a tiny change time series in the Zarr layout of ``terrasynth.core.change_data``: blocks of
class codes, one block relabelled at each step, images coloured by class, ``change`` marking the
relabelled block. Run ``python tests/data/change_series/data.py OUT.zarr``."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from terrasynth.core import change_series


def write_change_series(path, *, series: int = 2, times: int = 3, size: int = 32, seed: int = 0) -> Path:
    """Write the store at ``path`` and return it; block ``t - 1`` (8 x 8 pixels, along the
    diagonal) changes class at time ``t``."""
    rng = np.random.default_rng(seed)
    block = 8
    semantic = np.zeros((series, times, size, size), np.uint8)
    semantic[:, 0] = np.kron(
        rng.integers(1, 5, (series, size // block, size // block)), np.ones((block, block))
    )
    change = np.zeros_like(semantic)
    for t in range(1, times):
        semantic[:, t] = semantic[:, t - 1]
        rows = slice((t - 1) * block, t * block)
        semantic[:, t, rows, rows] = semantic[:, t - 1, rows, rows] % 4 + 1
        change[:, t] = semantic[:, t] != semantic[:, t - 1]
    image = np.repeat((semantic * 50)[:, :, None], 3, axis=2).astype(np.uint8)
    change_series(image, semantic, change, seed=seed).to_zarr(path, mode="w", consolidated=False)
    return Path(path)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(f"usage: python {sys.argv[0]} OUT.zarr")
    print(write_change_series(sys.argv[1]))
