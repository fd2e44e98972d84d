"""Generated against real imagery: FID/KID (with the local Inception weights), sliced Wasserstein
and seam scores, per level and land-cover class, saved as netCDF and printed as tables.

Given the low-resolution image the canvases were generated from (``condition``), it also scores
a ``bicubic`` model (that image upsampled bicubically onto every generated GeoTIFF's grid, the
baseline a super-resolution cascade must beat) and how closely every canvas, averaged back down
onto the condition's pixels, follows it (``condition_error``).

The seam energy ratio of each generated level is matched to the pixel grid of the image it was
generated from (:mod:`terrasynth.evaluation.seams`): the next coarser level among the generated
sets and ``condition``, as a cascade generates them (the 4 m canvas from the 16 m one, the 16 m one
from the 60 m condition).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

BICUBIC = "bicubic"
"""The ``model`` name of the bicubic baseline."""


def evaluate_generation(
    real: str | Path,
    generated: Sequence[str | Path],
    *,
    names: Sequence[str] | None = None,
    inception_weights: str | Path | None = None,
    encoder=None,
    encoder_name: str = "",
    tile_size: int = 256,
    rgb_bands: Sequence[str | int] | None = None,
    window_stride: int | None = None,
    window_offset: int = 0,
    batch_size: int = 32,
    seed: int = 0,
    device: str | None = None,
    condition: str | Path | None = None,
    real_under_canvases: bool = False,
    on_tiles: Callable[[int], None] | None = None,
):
    """Score each generated set against the real one; returns one Dataset along ``model``.

    Args:
        real: a folder of PNG/GeoTIFF files or a Zarr corpus (see
            :func:`~terrasynth.evaluation.image_sets.open_image_set`).
        generated: one or more such sets.
        names: the ``model`` coordinate per generated set (default: the folder names).
        inception_weights: the local ``pt_inception-2015-12-05-6726825d.pth`` for FID/KID
            (SHA-256 checked); without it and without ``encoder``, only SWD and seams run.
        encoder: your own feature encoder instead (uint8 RGB batches in, ``(N, D)`` out).
        encoder_name: recorded with the results when ``encoder`` is given.
        tile_size: tile edge in pixels (at least 16, and at most the images' size).
        rgb_bands: the red, green and blue bands of multiband reflectance (shown through
            :func:`terrasynth.core.display.to_display`).
        window_stride, window_offset: the generator's window stride (at least 2) and first cut
            (pixels), for the seam scores (each level's matched to its condition's pixel grid,
            see the module docstring).
        batch_size, seed, device: tiles per encoder batch, random seed, torch device (default: a
            GPU when there is one).
        condition: the low-resolution GeoTIFF the canvases were generated from (not scored as
            one of them where it lies in a generated folder); adds the
            ``bicubic`` model (see :func:`bicubic_baseline`) and ``condition_error (model, level,
            condition_metric)``: each GeoTIFF canvas averaged onto the condition's pixels against
            them (see :func:`terrasynth.evaluation.condition.condition_error`), averaged per level.
        real_under_canvases: score each level against the real pixels under the generated
            GeoTIFFs of that level only (:func:`~terrasynth.evaluation.image_sets.under`; the real
            set a corpus or GeoTIFFs in their CRS): the same ground, where the real set covers more
            than a level's canvases, or other ground than they do.
        on_tiles: progress callback, called with the number of tiles done.
    """
    import tempfile

    from terrasynth.core.errors import ConfigError
    from terrasynth.evaluation.generation import check_tiling, compare_image_sets, tile_count
    from terrasynth.evaluation.image_sets import open_image_set
    from terrasynth.evaluation.inception import inception_encoder
    from terrasynth.workflows.devices import torch_device

    names = list(names) if names else [Path(p).name for p in generated]
    if len(names) != len(generated) or len(set(names)) != len(names):
        raise ConfigError(f"give one distinct name per generated set (got {names})")
    check_tiling(tile_size, window_stride)
    device = str(torch_device(device))
    sets = open_sets(
        real, generated, rgb_bands=rgb_bands, condition=condition, real_under_canvases=real_under_canvases
    )
    for path, canvases in sets.items():
        if not tile_count(canvases, tile_size):
            side = max(min(canvas.shape) for canvas in canvases)
            raise ConfigError(
                f"{path} holds no whole {tile_size} px tile: its images are at most {side} px on their "
                f"short side; give a --tile-size of at most {side}"
            )
    if condition is not None and BICUBIC in names:
        raise ConfigError(
            f"{BICUBIC!r} names the baseline of --condition: give the generated sets other names"
        )
    if inception_weights is not None:
        if encoder is not None:
            raise ConfigError("give either the Inception weights or your own encoder, not both")
        encoder, encoder_name = inception_encoder(inception_weights), "inception-v3-fid"

    levels = {canvas.level for path in generated for canvas in sets[path]}
    conditions = cascade_conditions(levels, None if condition is None else _gsd(condition))

    def score(paths, labels):
        canvases = {p: sets[p] if p in sets else open_image_set(p, rgb_bands=rgb_bands) for p in paths}
        return compare_image_sets(
            sets[real],
            {label: canvases[p] for label, p in zip(labels, paths, strict=True)},
            encoder=encoder, encoder_name=encoder_name, tile_size=tile_size, batch_size=batch_size,
            window_stride=window_stride, window_offset=window_offset, condition_gsds=conditions, seed=seed,
            device=device, on_tiles=on_tiles,
        )  # fmt: skip

    if condition is None:
        results = score(generated, names)
    else:
        with tempfile.TemporaryDirectory(prefix=".terrasynth-bicubic-") as scratch:
            baseline = bicubic_baseline(condition, generated, scratch)
            results = score([*generated, baseline], [*names, BICUBIC])
            errors = [condition_errors(condition, folder) for folder in [*generated, baseline]]
        results["condition_error"] = _per_level(errors, [*names, BICUBIC], list(results["level"].values))
        results.attrs["condition"] = str(condition)
    results.attrs |= {
        "real": str(real),
        "generated": [str(p) for p in generated],
        "display": "terrasynth.core.display",
    }
    return results


def open_sets(
    real: str | Path,
    generated: Sequence[str | Path],
    *,
    rgb_bands: Sequence[str | int] | None = None,
    condition: str | Path | None = None,
    real_under_canvases: bool = False,
) -> dict:
    """The canvases of ``real`` and of each ``generated`` set by path, as :func:`evaluate_generation`
    scores them (the same arguments): without ``condition`` among the generated ones, and with
    ``real_under_canvases`` the real ones cut to the generated ones' ground."""
    from terrasynth.core.errors import ConfigError
    from terrasynth.evaluation.image_sets import open_image_set

    sets = {path: open_image_set(path, rgb_bands=rgb_bands) for path in [real, *generated]}
    if condition is not None:  # the input beside its canvases is not one of them
        given = Path(condition).resolve()
        for path in generated:
            sets[path] = [c for c in sets[path] if Path(c.name).resolve() != given]
            if not sets[path]:
                raise ConfigError(
                    f"{path} holds no image but the condition {condition}: give the generated ones"
                )
    if real_under_canvases:
        sets[real] = _real_under(real, sets[real], [canvas for path in generated for canvas in sets[path]])
    return sets


def _real_under(real, canvases, generated):
    """The parts of the ``real`` canvases under the ``generated`` ones, level by level; a level
    the real set has no pixels under is a one-line error."""
    from terrasynth.core.errors import ConfigError
    from terrasynth.evaluation.image_sets import under

    parts = under(canvases, generated)
    missing = sorted({canvas.level for canvas in generated} - {part.level for part in parts})
    if missing:
        raise ConfigError(
            f"{real} has no pixels under the generated {missing[0]} canvases: give the real imagery of their "
            f"ground (GeoTIFFs in their CRS or a corpus), or leave out real_under_canvases"
        )
    return parts


def cascade_conditions(levels: Iterable[str], condition_gsd: float | None = None) -> dict[str, float]:
    """Metres per pixel of the image each level was generated from, by level name, as a cascade
    generates them: the next coarser of ``levels`` (``"16m"``; ``"all"`` is skipped) and
    ``condition_gsd``. The coarsest level has none."""
    from itertools import pairwise

    from terrasynth.core.levels import Level
    from terrasynth.evaluation.image_sets import ALL

    names = {Level.parse(name).gsd: name for name in levels if name != ALL}
    ladder = sorted({*names, *([] if condition_gsd is None else [condition_gsd])})
    return {names[fine]: coarse for fine, coarse in pairwise(ladder) if fine in names}


def _gsd(path: str | Path) -> float:
    """A GeoTIFF's metres per pixel (rounded to the micrometre, as levels are named)."""
    import rasterio

    with rasterio.open(path) as source:
        return round(source.res[0], 6)


def _geotiffs(folder: str | Path) -> list[Path]:
    return sorted(p for p in Path(folder).rglob("*") if p.suffix.lower() in {".tif", ".tiff"})


def _read_reflectance(dataset):
    """A rasterio dataset's bands as float32 reflectance (:func:`~terrasynth.core.canvas_rasters.reflectance_scale`)."""
    import numpy as np

    from terrasynth.core.canvas_rasters import reflectance_scale

    return dataset.read().astype(np.float32) * np.float32(reflectance_scale(dataset))


def _finer_canvases(condition: str | Path, folder: str | Path):
    """(path, canvas grid, condition grid corner) of the GeoTIFFs in ``folder`` finer than ``condition``
    and in its CRS: the canvases generated from it."""
    import rasterio

    with rasterio.open(condition) as source:
        crs, transform = source.crs, source.transform
    for path in _geotiffs(folder):
        with rasterio.open(path) as canvas:
            if canvas.crs != crs or canvas.res[0] >= transform.a - 1e-9:
                continue
            t = canvas.transform
            corner = ((transform.f - t.f) / transform.a, (t.c - transform.c) / transform.a)
            yield path, canvas.profile | {"descriptions": canvas.descriptions}, corner


def bicubic_baseline(condition: str | Path, generated: Sequence[str | Path], out: str | Path) -> Path:
    """Write into ``out`` the bicubic upsampling of ``condition`` (a GeoTIFF of reflectance) onto the
    grid of every GeoTIFF in the ``generated`` folders that is finer than it and in its CRS, with
    that file's name, profile and band descriptions (so both are read alike), as uint16
    reflectance x 1e4. Returns ``out``."""
    import numpy as np
    import rasterio

    from terrasynth.core.corpus import REFLECTANCE_SCALE
    from terrasynth.core.errors import ConfigError
    from terrasynth.core.outputs import atomic_path
    from terrasynth.evaluation.condition import bicubic_upsample

    out = Path(out)
    with rasterio.open(condition) as source:
        low, gsd = _read_reflectance(source), source.res[0]
    written = 0
    for folder in generated:
        for path, profile, corner in _finer_canvases(condition, folder):
            shape = (profile["height"], profile["width"])
            image = bicubic_upsample(low, gsd, profile["transform"].a, shape, corner)
            target = out / path.relative_to(folder)
            descriptions = profile.pop("descriptions")
            profile = {**profile, "dtype": "uint16", "count": len(image), "driver": "GTiff"}
            with atomic_path(target) as partial, rasterio.open(partial, "w", **profile) as dst:
                dst.write(np.clip(np.round(image / REFLECTANCE_SCALE), 0, 65535).astype(np.uint16))
                dst.scales = [REFLECTANCE_SCALE] * len(image)
                dst.descriptions = descriptions
            written += 1
    if not written:
        raise ConfigError(
            f"no generated GeoTIFF is finer than {condition} and in its CRS: no bicubic baseline"
        )
    return out


def condition_errors(condition: str | Path, folder: str | Path) -> dict[str, dict[str, float]]:
    """Per generated level (``"16m"``), the mean over the GeoTIFFs of ``folder`` finer than
    ``condition`` of :func:`terrasynth.evaluation.condition.condition_error` against it."""
    import numpy as np
    import rasterio

    from terrasynth.core.levels import Level
    from terrasynth.evaluation.condition import condition_error

    with rasterio.open(condition) as source:
        low, gsd = _read_reflectance(source), source.res[0]
    found: dict[str, list[dict]] = {}
    for path, profile, corner in _finer_canvases(condition, folder):
        with rasterio.open(path) as canvas:
            image = _read_reflectance(canvas)
        level = Level(round(profile["transform"].a, 6)).name
        found.setdefault(level, []).append(condition_error(image, profile["transform"].a, low, gsd, corner))
    return {
        level: {k: float(np.mean([e[k] for e in errors])) for k in errors[0]}
        for level, errors in found.items()
    }


def _per_level(errors: list[dict], names: list[str], levels: list[str]):
    import numpy as np
    import xarray as xr

    from terrasynth.evaluation.condition import CONDITION_METRICS

    table = np.full((len(names), len(levels), len(CONDITION_METRICS)), np.nan)
    for i, per_level in enumerate(errors):
        for j, level in enumerate(levels):
            if level in per_level:
                table[i, j] = [per_level[level][m] for m in CONDITION_METRICS]
    return xr.DataArray(
        table,
        dims=("model", "level", "condition_metric"),
        coords={"model": names, "level": levels, "condition_metric": list(CONDITION_METRICS)},
        attrs={"long_name": "canvas averaged onto the condition's pixels against the condition"},
    )
