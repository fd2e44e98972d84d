"""Cascade training samples: a level's tiles with their low-resolution condition.

The condition is what the generator gives a window of the same footprint
(:class:`terrasynth.models.metaearth.UnboundedGenerator`): the coarser level's own pixels over the
high-resolution (HR) tile's footprint and ``margin`` more on every side (``ceil(footprint) + 2 *
margin + 1`` pixels, edge pixels repeated beyond the grid), with ``condition_box`` saying where the
tile lies on them, in fractions of a pixel where the footprint does not fall on whole pixels (a
32-pixel tile at 16 m spans 8.53 pixels of 60 m). ``condition_gsd`` is the coarser level's
resolution. A model so trained sees in training what it sees when generating: the same context
around each window and the resolution it is told.

In ``degraded`` mode the condition is left to the training loop, which degrades the HR tile onto
:func:`condition_shape` pixels covering exactly its footprint (``condition_gsd`` is their size).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from rasterio.windows import Window
from torch.utils.data import Dataset

from terrasynth.core.choices import CascadeCondition
from terrasynth.core.corpus import corpus_levels, open_corpus
from terrasynth.core.errors import CorpusError
from terrasynth.core.levels import Level
from terrasynth.datasets.chunk_cache import ChunkCache
from terrasynth.datasets.corpus import CorpusDataset
from terrasynth.datasets.level_reader import LevelReader
from terrasynth.datasets.map_style import MapStyleDataset


def condition_shape(shape: tuple[int, int], gsd: float, condition_gsd: float) -> tuple[int, int]:
    """(rows, columns) of a condition at ``condition_gsd`` metres covering an image of ``shape``
    pixels at ``gsd`` metres: each side's length over the coarse pixel, rounded, at least 1."""
    rows, cols = shape
    return max(1, round(rows * gsd / condition_gsd)), max(1, round(cols * gsd / condition_gsd))


class CascadePairs(CorpusDataset):
    """HR tiles of one level with their LR condition, for training one stage of the cascade.

    A :class:`CorpusDataset` (same index, queries and samplers) whose samples also hold the
    condition. Sample keys:

    - ``image``: float32 (C, H, W), HR surface reflectance (unitless);
    - ``condition``: float32 (C', h, w), LR surface reflectance around the same footprint, read
      from the coarser level (C' its bands); ``condition_box``: float32 (4,), where the tile lies
      on it, (top, left, bottom, right) in its pixels (see the module docstring); both absent with ``condition="degraded"``, where the training loop
      degrades ``image`` onto ``condition_gsd`` anew at every step (Real-ESRGAN's practice, in the
      model's space where images fill [-1, 1]: see
      :func:`terrasynth.datasets.degradation.degrade_condition`);
    - ``gsd``: float32 scalar, HR metres per pixel;
    - ``condition_gsd``: float32 scalar, LR metres per pixel;
    - ``landcover``: int64 (H, W), WorldCover codes, 0 = no data; ``valid``: bool (H, W);
    - ``crs``, ``bounds``: as torchgeo returns them.
    """

    def __init__(
        self,
        path: str | Path,
        level: str | float | Level,
        region: str | None = None,
        *,
        condition: CascadeCondition = "coarser",
        condition_level: str | float | Level | None = None,
        margin: int = 4,
        tile_size: int | None = None,
        min_valid_fraction: float = 0.5,
        transforms: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
        tree=None,
        cache: ChunkCache | None = None,
    ) -> None:
        """Index the HR level and set up its condition.

        Args:
            path, level, region, tile_size, min_valid_fraction, transforms, tree, cache: as for
                :class:`CorpusDataset` (``level`` is the HR level; the cache serves both levels).
            condition: ``"coarser"`` reads the condition from a coarser level of the corpus;
                ``"degraded"`` leaves it to be degraded from the HR tile by the training loop.
            condition_level: the LR resolution; default the next coarser level of the corpus. In
                ``"degraded"`` mode any resolution (metres), e.g. 240 for the first stage above 60 m.
            margin: condition pixels read around the footprint; the generator reads 4.
        """
        tree = tree if tree is not None else open_corpus(path)
        super().__init__(
            path,
            level,
            region,
            tile_size=tile_size,
            min_valid_fraction=min_valid_fraction,
            transforms=transforms,
            tree=tree,
            cache=cache,
        )
        if condition not in ("coarser", "degraded"):
            raise CorpusError(f"condition must be 'coarser' or 'degraded', got {condition!r}")
        self.condition = condition
        coarser = [lvl for lvl in corpus_levels(tree) if lvl.gsd > self.level.gsd]
        if condition_level is None:
            if not coarser:
                raise CorpusError(
                    f"{self.level.name} is the coarsest level of {path}: give condition_level (metres) "
                    "and condition='degraded'"
                )
            condition_level = coarser[-1]
        self.condition_level = Level.parse(condition_level)
        if self.condition_level.gsd <= self.level.gsd:
            raise CorpusError(
                f"condition level {self.condition_level.name} is not coarser than {self.level.name}"
            )
        self.margin = margin
        self.condition_reader: LevelReader | None = None
        if condition == "coarser":
            self.condition_reader = LevelReader(
                path, self.condition_level, self.region, tree=tree, cache=cache
            )

    def _read(self, query, window: Window) -> dict[str, Any]:
        sample = super()._read(query, window)
        if self.condition == "coarser":
            sample["condition"], sample["condition_box"] = self._read_condition(window)
            sample["condition_gsd"] = torch.tensor(self.condition_level.gsd, dtype=torch.float32)
        else:
            shape = condition_shape(
                (int(window.height), int(window.width)), self.level.gsd, self.condition_level.gsd
            )
            sample["condition_gsd"] = torch.tensor(
                window.width * self.level.gsd / shape[1], dtype=torch.float32
            )
        return sample

    def _read_condition(self, window: Window) -> tuple[torch.Tensor, torch.Tensor]:
        """The condition around a tile's footprint, edge pixels repeated beyond the grid, and the
        footprint on it: (top, left, bottom, right) in its pixels."""
        reader = self.condition_reader
        if reader is None:
            raise RuntimeError(f"a {self.condition!r} condition is not read from a coarser level")
        footprint = self.grid.window_on(reader.grid, window)
        top, left = math.floor(footprint.row_off) - self.margin, math.floor(footprint.col_off) - self.margin
        rows = math.ceil(footprint.height) + 2 * self.margin + 1
        cols = math.ceil(footprint.width) + 2 * self.margin + 1
        read = reader.clipped(Window(left, top, cols, rows))
        image = reader.reflectance(reader.read(read, ("image",), pad=False)["image"])
        before = (int(read.row_off) - top, int(read.col_off) - left)
        after = (rows - before[0] - image.shape[-2], cols - before[1] - image.shape[-1])
        image = np.pad(image, ((0, 0), (before[0], after[0]), (before[1], after[1])), mode="edge")
        box = [footprint.row_off - top, footprint.col_off - left]
        box += [box[0] + footprint.height, box[1] + footprint.width]
        return torch.from_numpy(image), torch.tensor(box, dtype=torch.float32)


class CascadeLevels(Dataset):
    """Several stages' training samples (one dataset per level pair) as one dataset, for one model
    that runs every stage (MetaEarth's self-cascade).

    The pairs are interleaved, sample ``i`` from pair ``i % n``, and the smaller ones repeated, so
    that every pair is drawn as often as the largest: a pair with few tiles (a coarse level) is
    not drowned by one with many.

    Args:
        stages: a map-style dataset of cascade samples per level pair, coarse to fine.
    """

    def __init__(self, stages: Sequence[MapStyleDataset]):
        if not stages or any(len(stage) == 0 for stage in stages):
            raise CorpusError("every level pair needs at least one training sample")
        self.stages = list(stages)

    def __len__(self) -> int:
        return len(self.stages) * max(len(stage) for stage in self.stages)

    def __getitem__(self, index: int) -> dict[str, Any]:
        if not 0 <= index < len(self):
            raise IndexError(index)
        stage = self.stages[index % len(self.stages)]
        return stage[(index // len(self.stages)) % len(stage)]
