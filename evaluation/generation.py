"""Generated against real imagery: FID/KID, sliced Wasserstein and seam scores, broken down per
level and per land-cover class, as one xarray Dataset.

Both sets are cut into tiles (see :mod:`.image_sets`); each tile's encoder features and Laplacian
patches are computed once, then every (level, land-cover class) group, ``"all"`` included, is
scored from its subset.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch
import xarray as xr

from terrasynth.core.errors import ConfigError
from terrasynth.core.levels import Level
from terrasynth.evaluation.feature_distance import as_encoder, feature_distances
from terrasynth.evaluation.image_sets import ALL, Canvas, iter_tiles
from terrasynth.evaluation.seams import SEAM_AXES, SEAM_METRICS, grid_period, seam_scores
from terrasynth.evaluation.sliced_wasserstein import laplacian_patches, sliced_wasserstein

DISTANCE_METRICS = ("fid", "kid_mean", "kid_std", "swd")


@dataclass
class _TileFeatures:
    """What one image set contributes, a row per tile: labels, encoder features (or None), and
    ``patches_per_tile`` rows per tile of patch descriptors per pyramid scale."""

    levels: np.ndarray
    classes: np.ndarray
    features: torch.Tensor | None
    patches: dict[int, torch.Tensor]

    def mask(self, level: str, landcover: str) -> np.ndarray:
        keep = np.ones(len(self.levels), dtype=bool)
        if level != ALL:
            keep &= self.levels == level
        if landcover != ALL:
            keep &= self.classes == landcover
        return keep


def tile_count(canvases: Iterable[Canvas], tile_size: int) -> int:
    """The most tiles :func:`compare_image_sets` takes from the canvases (before invalid ones are dropped)."""
    return sum((c.shape[0] // tile_size) * (c.shape[1] // tile_size) for c in canvases)


def check_tiling(tile_size: int, window_stride: int | None = None) -> None:
    """Refuse a tile edge below 16 pixels or a window stride below 2 (None or 0: no seam scores)."""
    if tile_size < 16:
        raise ConfigError(f"the tile size (--tile-size) must be at least 16 pixels, got {tile_size}")
    if window_stride not in (None, 0) and window_stride < 2:
        raise ConfigError(
            f"the window stride (--window-stride) must be at least 2 pixels, got {window_stride}"
        )


def compare_image_sets(
    real: Sequence[Canvas],
    generated: Mapping[str, Sequence[Canvas]],
    *,
    encoder: torch.nn.Module | Callable[[torch.Tensor], torch.Tensor] | None = None,
    encoder_name: str = "",
    tile_size: int = 256,
    batch_size: int = 32,
    patches_per_tile: int = 64,
    kid_subsets: int = 100,
    kid_subset_size: int = 1000,
    window_stride: int | None = None,
    window_offset: int = 0,
    condition_gsds: Mapping[str, float] | None = None,
    seed: int = 0,
    device: str = "cpu",
    on_tiles: Callable[[int], None] | None = None,
) -> xr.Dataset:
    """Score each generated set against ``real`` (the real tiles are read and encoded once).

    Args:
        real: canvases from :func:`~terrasynth.evaluation.image_sets.open_image_set`.
        generated: such canvases per generated set, by name: the ``model`` coordinate.
        encoder: gives ``(N, D)`` features of uint8 RGB batches ``(N, 3, tile, tile)`` (e.g.
            :func:`~terrasynth.evaluation.inception.inception_encoder`); without it FID and KID
            are left out and only the weight-free metrics run.
        encoder_name: recorded in the attributes (``"inception-v3-fid"``, ...).
        tile_size: tile edge in pixels (at least 16).
        patches_per_tile: 7 x 7 patches per tile and pyramid scale for the SWD.
        kid_subsets, kid_subset_size: KID's random subsets.
        window_stride, window_offset: the generator's window stride and first cut in pixels; when
            given, the seam scores of every generated canvas are averaged per level.
        condition_gsds: metres per pixel of the image each level was generated from, by level
            name (``{"16m": 60.0, "4m": 16.0}``): the seam energy ratio of those levels compares
            the cuts with the columns at the same phase of that image's pixel grid (see
            :mod:`.seams`); other levels are scored against all other columns.
        seed: seeds patch sampling, SWD directions and KID subsets.
        on_tiles: called with the number of tiles after each batch (progress bars).

    Returns:
        Dataset with ``distance (model, level, landcover, metric)``, ``swd (model, level,
        landcover, scale)`` (per pyramid scale, pixels), ``tiles (model, set, level, landcover)``
        and, with a window stride, ``seam (model, level, axis, seam_metric)``.
    """
    check_tiling(tile_size, window_stride)
    generator = torch.Generator().manual_seed(seed)
    module = as_encoder(encoder).to(device).eval() if encoder is not None else None

    def collect(label: str, canvases: Sequence[Canvas]) -> _TileFeatures:
        found = _collect(
            canvases, module, tile_size, batch_size, patches_per_tile, generator, device, on_tiles
        )
        if not len(found.levels):
            raise ConfigError(f"the {label} set holds no whole {tile_size} px tile: give a smaller tile size")
        return found

    reference = collect("real", real)
    runs = []
    for name, canvases in generated.items():
        ds = _score(
            reference,
            collect(name, canvases),
            module is not None,
            generator,
            kid_subsets,
            kid_subset_size,
            seed,
        )
        ds.attrs |= {
            "encoder": encoder_name if module is not None else "",
            "tile_size": tile_size,
            "seed": seed,
        }
        if window_stride:
            conditions = dict(condition_gsds or {})
            ds["seam"] = _seams(canvases, list(ds["level"].values), window_stride, window_offset, conditions)
            ds.attrs |= {
                "window_stride": window_stride,
                "window_offset": window_offset,
                "seam_condition_gsds": conditions,
            }
        runs.append(ds.expand_dims(model=[name]))
    return xr.concat(runs, dim="model", join="outer", combine_attrs="drop_conflicts")


def _score(real, generated, with_features, generator, kid_subsets, kid_subset_size, seed) -> xr.Dataset:
    sets = {"real": real, "generated": generated}
    levels = [ALL, *sorted((set(real.levels) | set(generated.levels)) - {ALL})]
    classes = [ALL, *sorted((set(real.classes) | set(generated.classes)) - {ALL})]
    scales = sorted(real.patches, reverse=True)
    metrics = list(DISTANCE_METRICS) if with_features else ["swd"]
    distance = np.full((len(levels), len(classes), len(metrics)), np.nan)
    swd = np.full((len(levels), len(classes), len(scales)), np.nan)
    tiles = np.zeros((2, len(levels), len(classes)), dtype=np.int64)
    for i, level in enumerate(levels):
        for j, landcover in enumerate(classes):
            masks = {label: found.mask(level, landcover) for label, found in sets.items()}
            tiles[:, i, j] = [m.sum() for m in masks.values()]
            if min(tiles[:, i, j]) == 0:
                continue
            for k, scale in enumerate(scales):
                a, b = (_subset(sets[label].patches[scale], masks[label]) for label in sets)
                swd[i, j, k] = sliced_wasserstein(a, b, bands=3, generator=generator)
            scores = {"swd": float(np.mean(swd[i, j]))}
            if with_features:
                a, b = (_subset(sets[label].features, masks[label]) for label in sets)
                scores |= feature_distances(
                    a, b, kid_subsets=kid_subsets, kid_subset_size=kid_subset_size, seed=seed
                )
            distance[i, j] = [scores[m] for m in metrics]
    return xr.Dataset(
        {
            "distance": (("level", "landcover", "metric"), distance),
            "swd": (
                ("level", "landcover", "scale"),
                swd,
                {"units": "1e-3", "long_name": "sliced Wasserstein distance"},
            ),
            "tiles": (("set", "level", "landcover"), tiles),
        },
        coords={
            "level": levels,
            "landcover": classes,
            "metric": metrics,
            "scale": ("scale", scales, {"units": "pixels"}),
            "set": ["real", "generated"],
        },
    )


def _collect(canvases, module, tile_size, batch_size, patches_per_tile, generator, device, on_tiles):
    levels, classes, features, patches = [], [], [], {}

    def add(batch):
        images = torch.from_numpy(np.stack([t.rgb for t in batch]))
        levels.extend(t.level for t in batch)
        classes.extend(t.landcover for t in batch)
        if module is not None:
            with torch.no_grad():
                features.append(module(images.to(device)).flatten(1).double().cpu())
        descriptors = laplacian_patches(
            images.float() / 255, patches_per_image=patches_per_tile, generator=generator
        )
        for scale, rows in descriptors.items():
            patches.setdefault(scale, []).append(rows.half())  # half precision: descriptors are many
        if on_tiles:
            on_tiles(len(batch))

    batch = []
    for canvas in canvases:
        for tile in iter_tiles(canvas, tile_size):
            batch.append(tile)
            if len(batch) == batch_size:
                add(batch)
                batch = []
    if batch:
        add(batch)
    return _TileFeatures(
        np.array(levels, dtype=object),
        np.array(classes, dtype=object),
        torch.cat(features) if features else None,
        {scale: torch.cat(rows) for scale, rows in patches.items()},
    )


def _subset(rows: torch.Tensor, mask: np.ndarray) -> torch.Tensor:
    """The rows of the tiles in ``mask`` (each tile owns the same number of consecutive rows)."""
    per_tile = len(rows) // len(mask)
    return rows[torch.from_numpy(np.repeat(mask, per_tile))].double()


def _seams(
    canvases: Sequence[Canvas], levels: list[str], stride: int, offset: int, conditions: Mapping[str, float]
) -> xr.DataArray:
    per_level: dict[str, list[np.ndarray]] = {}
    for canvas in canvases:
        period = 1
        if canvas.level in conditions:
            period = grid_period(Level.parse(canvas.level).gsd, conditions[canvas.level])
        scores = seam_scores(canvas.rgb(), stride=stride, offset=offset, period=period)
        values = np.array([[scores[(axis, metric)] for metric in SEAM_METRICS] for axis in SEAM_AXES])
        for key in {ALL, canvas.level}:
            per_level.setdefault(key, []).append(values)
    table = np.full((len(levels), len(SEAM_AXES), len(SEAM_METRICS)), np.nan)
    for i, level in enumerate(levels):
        if level in per_level:
            # a canvas too small for a window cut has NaN scores; a masked mean skips them, and is
            # NaN without nanmean's all-NaN warning where every canvas of the level is that small
            table[i] = np.ma.masked_invalid(np.stack(per_level[level])).mean(axis=0).filled(np.nan)
    return xr.DataArray(
        table,
        dims=("level", "axis", "seam_metric"),
        coords={"level": levels, "axis": list(SEAM_AXES), "seam_metric": list(SEAM_METRICS)},
    )
