"""Cascade training samples: a level's tiles with their low-resolution condition.

The condition covers exactly the footprint of the high-resolution (HR) tile. Its size in pixels is
that footprint over the condition's resolution, rounded to whole pixels (:func:`condition_shape`),
so its pixels are the coarse resolution stretched by at most half a pixel across the tile: a 256 x 256
tile at 16 m (4096 m) gets a 68 x 68 condition of 60.235 m pixels from the 60 m level, because
4096 m is 68.27 pixels of 60 m. ``condition_gsd`` reports that exact pixel size. Chips of 15 x k
pixels at 16 m (240 m, the ladder's common pitch) keep the ratio exact: 240 x 240 -> 64 x 64.

Where the footprint falls on whole pixels of the coarser level (16 m -> 4 m tiles aligned to the
16 m grid) the condition is read as stored. Otherwise (60 m -> 16 m) the whole-pixel window covering
the footprint, plus one pixel of margin, is read and resampled bilinearly at the centres of the
condition's pixels (:func:`resample_footprint`): the condition pixels are about the coarse level's
size, so this interpolates rather than averages.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

import torch
import torch.nn.functional as F
from rasterio.windows import Window
from torch.utils.data import Dataset

from terrasynth.core.corpus import corpus_levels, open_corpus
from terrasynth.core.errors import CorpusError
from terrasynth.core.grid import snap_window
from terrasynth.core.levels import Level
from terrasynth.datasets.chunk_cache import ChunkCache
from terrasynth.datasets.corpus import CorpusDataset
from terrasynth.datasets.level_reader import LevelReader


def condition_shape(shape: tuple[int, int], gsd: float, condition_gsd: float) -> tuple[int, int]:
    """(rows, columns) of a condition at ``condition_gsd`` metres covering an image of ``shape``
    pixels at ``gsd`` metres: each side's length over the coarse pixel, rounded, at least 1."""
    return tuple(max(1, round(n * gsd / condition_gsd)) for n in shape)


def resample_footprint(data: torch.Tensor, window: Window, shape: tuple[int, int]) -> torch.Tensor:
    """Bilinear samples of ``data`` (C, rows, cols) on a ``shape`` grid spanning exactly ``window``.

    ``window`` is fractional, in pixels of ``data`` (edges at whole numbers); output pixel (i, j)
    is sampled at its centre, ``window.row_off + (i + 0.5) * window.height / rows`` and likewise
    for columns. Beyond the data's outermost pixel centres the edge values are repeated.
    """
    rows, cols = shape
    src_rows, src_cols = data.shape[-2:]
    r = window.row_off + (torch.arange(rows, dtype=torch.float64) + 0.5) * window.height / rows
    c = window.col_off + (torch.arange(cols, dtype=torch.float64) + 0.5) * window.width / cols
    gy, gx = torch.meshgrid(2 * r / src_rows - 1, 2 * c / src_cols - 1, indexing="ij")
    grid = torch.stack([gx, gy], dim=-1)[None].to(data.dtype)
    return F.grid_sample(data[None], grid, mode="bilinear", padding_mode="border", align_corners=False)[0]


class CascadePairs(CorpusDataset):
    """HR tiles of one level with their LR condition, for training one stage of the cascade.

    A :class:`CorpusDataset` (same index, queries and samplers) whose samples also hold the
    condition. Sample keys:

    - ``image``: float32 (C, H, W), HR surface reflectance (unitless);
    - ``condition``: float32 (C', h, w), LR surface reflectance over the same footprint, read from
      the coarser level (C' its bands); absent with ``condition="degraded"``, where the training loop
      degrades ``image`` onto ``condition_gsd`` anew at every step (Real-ESRGAN's practice, in the
      model's space where images fill [-1, 1]: see
      :func:`terrasynth.datasets.degradation.degrade_condition`);
    - ``gsd``: float32 scalar, HR metres per pixel;
    - ``condition_gsd``: float32 scalar, LR metres per pixel across (footprint width / w);
    - ``landcover``: int64 (H, W), WorldCover codes, 0 = no data; ``valid``: bool (H, W);
    - ``crs``, ``bounds``: as torchgeo returns them.
    """

    def __init__(
        self,
        path: str | Path,
        level: str | float | Level,
        region: str | None = None,
        *,
        condition: Literal["coarser", "degraded"] = "coarser",
        condition_level: str | float | Level | None = None,
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
        self.condition_reader = None
        if condition == "coarser":
            self.condition_reader = LevelReader(
                path, self.condition_level, self.region, tree=tree, cache=cache
            )

    def _read(self, query, window: Window) -> dict[str, Any]:
        sample = super()._read(query, window)
        shape = condition_shape(
            (int(window.height), int(window.width)), self.level.gsd, self.condition_level.gsd
        )
        if self.condition == "coarser":
            sample["condition"] = self._read_condition(window, shape)
        sample["condition_gsd"] = torch.tensor(window.width * self.level.gsd / shape[1], dtype=torch.float32)
        return sample

    def _read_condition(self, window: Window, shape: tuple[int, int]) -> torch.Tensor:
        reader = self.condition_reader
        footprint = self.grid.window_on(reader.grid, window)
        if self.grid.is_aligned(reader.grid, window):
            image = reader.read(snap_window(footprint), ("image",))["image"]
            return torch.from_numpy(reader.reflectance(image))
        cover = snap_window(footprint)
        margin = Window(cover.col_off - 1, cover.row_off - 1, cover.width + 2, cover.height + 2)
        read = reader.clipped(margin)
        image = torch.from_numpy(reader.reflectance(reader.read(read, ("image",), pad=False)["image"]))
        relative = Window(
            footprint.col_off - read.col_off,
            footprint.row_off - read.row_off,
            footprint.width,
            footprint.height,
        )
        return resample_footprint(image, relative, shape)


class CascadeLevels(Dataset):
    """Several stages' training samples (one dataset per level pair) as one dataset, for one model
    that runs every stage (MetaEarth's self-cascade).

    The pairs are interleaved, sample ``i`` from pair ``i % n``, and the smaller ones repeated, so
    that every pair is drawn as often as the largest: a pair with few tiles (a coarse level) is
    not drowned by one with many.

    Args:
        stages: a map-style dataset of cascade samples per level pair, coarse to fine.
    """

    def __init__(self, stages: Sequence[Dataset]):
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
