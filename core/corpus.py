"""The corpus format: the contract between ingest and datasets, as code.

A corpus is a Zarr store holding one :class:`xarray.DataTree`::

    /                      root attributes: format, version, aoi, source, created, software, status,
                           levels (the ladder, coarse to fine), tile_size
    /<region>/<level>      e.g. /r00_utm32n/16m, one group per level of each region, holding
        image (band, y, x)   uint16 surface reflectance x 1e4 (``reflectance_scale`` = 1e-4)
        landcover (y, x)     uint8 class codes, 0 = no data; class table in its attributes
        valid (y, x)         bool, True where the image holds observed pixels
        spatial_ref          the CRS and transform, written by rioxarray

Coordinates ``x`` and ``y`` are pixel centres in metres of the region's UTM CRS. The levels of a
region share CRS, origin and extent, so a window at one level maps exactly onto the others.
Writers build the whole store with :func:`corpus_template` (nothing computed), fill it tile by
tile, one chunk of each variable per tile, storing every chunk (Zarr's ``write_empty_chunks``,
so that a missing chunk file is damage, not zeros), and only then call :func:`mark_complete`;
readers use :func:`open_corpus`, which refuses an incomplete or damaged corpus.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import dask.array as da
import numpy as np
import rioxarray  # noqa: F401  (registers the .rio accessor)
import xarray as xr
import zarr
from affine import Affine

from terrasynth.core.aoi import AreaOfInterest, Region
from terrasynth.core.errors import CorpusError
from terrasynth.core.grid import GridSpec
from terrasynth.core.landcover import WORLDCOVER, ClassTable
from terrasynth.core.levels import Level

FORMAT = "terrasynth-corpus"
FORMAT_VERSION = 2
"""2: every chunk of a finished tile is stored, and the root records the ladder (``levels``)."""
REFLECTANCE_SCALE = 1e-4
"""Stored image value x this = surface reflectance (unitless)."""
REFLECTANCE_ATTRS = {"long_name": "surface reflectance", "units": "1", "reflectance_scale": REFLECTANCE_SCALE}
"""The attributes of an image of reflectance x 1e4 (every level unless its source says otherwise)."""
STATUS_INCOMPLETE, STATUS_COMPLETE = "incomplete", "complete"
VARIABLES = {"image": ("band", "y", "x"), "landcover": ("y", "x"), "valid": ("y", "x")}
_SECRET_WORDS = re.compile(r"(secret|token|password|private_key|credential|key_file|api_key)", re.IGNORECASE)


def corpus_template(
    aoi: AreaOfInterest,
    regions: Sequence[Region],
    levels: Sequence[Level],
    bands: Sequence[str] | Mapping[str, Sequence[str]],
    *,
    source: Mapping,
    tile_size: int = 256,
    classes: ClassTable = WORLDCOVER,
    image_attrs: Mapping[str, Mapping] | None = None,
) -> xr.DataTree:
    """The whole corpus with lazy, uncomputed data, ready for ``to_zarr(compute=False)``.

    Args:
        aoi: the area the corpus covers (stored as GeoJSON).
        regions: its regions (see :meth:`AreaOfInterest.regions`).
        levels: the resolution ladder.
        bands: band names for every level, or a mapping level name -> band names.
        source: the source's name and parameters (collections, dates, masking); never credentials.
        tile_size: chunk and tile edge in pixels, the same at every level.
        classes: the land-cover legend.
        image_attrs: per level name, what its image values are (default: reflectance x 1e4).
    """
    check_no_secrets(source)
    groups = {"/": xr.Dataset(attrs=_root_attrs(aoi, source, levels, tile_size))}
    for region in regions:
        for level, grid in region.grids(levels).items():
            level_bands = bands[level] if isinstance(bands, Mapping) else bands
            groups[f"/{region.name}/{level}"] = level_template(
                grid, Level.parse(level), level_bands, tile_size, classes, (image_attrs or {}).get(level)
            )
    return xr.DataTree.from_dict(groups)


def level_template(
    grid: GridSpec,
    level: Level,
    bands: Sequence[str],
    tile_size: int,
    classes: ClassTable = WORLDCOVER,
    image_attrs: Mapping | None = None,
) -> xr.Dataset:
    """One level's group: lazy zero arrays stored in chunks of ``tile_size`` pixels, with coordinates
    and CRS; ``image_attrs`` say what the image values are (default: :data:`REFLECTANCE_ATTRS`).

    Each array is one dask block (its Zarr chunks are set by encoding), so a template costs the
    same for a continent as for a field: ``to_zarr(compute=False)`` writes metadata from a graph of
    a few tasks, however many chunks the store will hold."""
    x, y = grid.coords()
    rows, cols = grid.shape
    chunks_2d = (min(tile_size, rows), min(tile_size, cols))
    coords = {
        "band": ("band", np.array(bands, dtype=object)),
        "y": ("y", y, {"standard_name": "projection_y_coordinate", "units": "m", "axis": "Y"}),
        "x": ("x", x, {"standard_name": "projection_x_coordinate", "units": "m", "axis": "X"}),
    }
    image = da.zeros((len(bands), rows, cols), dtype=np.uint16, chunks=-1)
    landcover = da.zeros((rows, cols), dtype=np.uint8, chunks=-1)
    valid = da.zeros((rows, cols), dtype=bool, chunks=-1)
    ds = xr.Dataset(
        {
            "image": (
                VARIABLES["image"],
                image,
                dict(image_attrs or REFLECTANCE_ATTRS),
            ),
            "landcover": (
                VARIABLES["landcover"],
                landcover,
                {"long_name": "land cover", **classes.to_attrs()},
            ),
            "valid": (VARIABLES["valid"], valid, {"long_name": "observed (not cloud, not outside the area)"}),
        },
        coords=coords,
        attrs={"level": level.name, "gsd": level.gsd, "tile_size": tile_size},
    )
    ds.image.encoding["chunks"] = (len(bands), *chunks_2d)
    ds.landcover.encoding["chunks"] = ds.valid.encoding["chunks"] = chunks_2d
    return ds.rio.write_crs(grid.crs).rio.write_transform(grid.transform)


def open_corpus(
    path: str | Path, *, allow_incomplete: bool = False, check_chunks: bool = True
) -> xr.DataTree:
    """A corpus opened lazily (dask) and validated; raises :class:`CorpusError` naming what is wrong.

    With ``check_chunks``, a complete corpus must also hold every tile's chunks (a directory
    listing per array, nothing decoded; ``terrasynth check`` decodes them too).
    """
    from terrasynth.core.corpus_check import find_bad_tiles

    path = Path(path)
    if not (path / "zarr.json").is_file() and not (path / ".zgroup").is_file():
        raise CorpusError(f"{path} is not a corpus: no Zarr store there (build one with `terrasynth ingest`)")
    try:
        tree = xr.open_datatree(path, engine="zarr", chunks={}, decode_coords="all", consolidated=False)
    except Exception as error:
        raise CorpusError(f"{path} cannot be opened as a Zarr DataTree: {error}") from None
    validate_corpus(tree, allow_incomplete=allow_incomplete, name=str(path))
    if check_chunks and tree.attrs["status"] == STATUS_COMPLETE:
        bad = find_bad_tiles(path, decode=False)
        if bad:
            raise CorpusError(
                f"{path} is damaged: {len({tile.key for tile in bad})} tile(s) lack chunks, e.g. {bad[0]}; run "
                f"`terrasynth check {path}` and rerun the same `terrasynth ingest` to refetch them"
            )
    return tree


def validate_corpus(tree: xr.DataTree, *, allow_incomplete: bool = False, name: str = "corpus") -> None:
    """Check a corpus against the format; the first problem found raises :class:`CorpusError`."""
    attrs = tree.attrs
    if attrs.get("format") != FORMAT:
        raise CorpusError(f"{name}: root attribute 'format' is {attrs.get('format')!r}, expected {FORMAT!r}")
    if attrs.get("format_version") != FORMAT_VERSION:
        raise CorpusError(
            f"{name}: format version {attrs.get('format_version')!r} is not supported (this terrasynth reads "
            f"version {FORMAT_VERSION}): rebuild it with this terrasynth (`terrasynth ingest ... --overwrite`) or "
            "read it with the terrasynth that wrote it"
        )
    for key in ("aoi", "source", "created", "software_version", "status", "levels", "tile_size"):
        if key not in attrs:
            raise CorpusError(f"{name}: root attribute {key!r} is missing")
    if attrs["status"] != STATUS_COMPLETE and not allow_incomplete:
        raise CorpusError(
            f"{name} is incomplete (status {attrs['status']!r}): rerun the same `terrasynth ingest` to finish it"
        )
    if not tree.children:
        raise CorpusError(f"{name}: holds no regions")
    recorded = list(attrs["levels"])
    for region in tree.children.values():
        where = f"{name}/{region.name}"
        missing = [level for level in recorded if level not in region.children]
        if missing:
            raise CorpusError(
                f"{where} has no level {missing[0]}, which the corpus records ({', '.join(recorded)}): the corpus is "
                "damaged; rerun the same `terrasynth ingest` to refetch it"
            )
        unknown = sorted(set(region.children) - set(recorded))
        if unknown:
            raise CorpusError(
                f"{where} holds level {unknown[0]}, which the corpus does not record ({', '.join(recorded)})"
            )
        grids = {
            name: _validate_level(group.to_dataset(), f"{where}/{name}")
            for name, group in region.children.items()
        }
        _validate_alignment(grids, where)


def corpus_regions(tree: xr.DataTree) -> list[str]:
    """The region group names of a corpus."""
    return sorted(tree.children)


def corpus_levels(tree: xr.DataTree) -> tuple[Level, ...]:
    """The corpus' ladder as recorded at ingest, coarse to fine (:func:`open_corpus` checks that
    every region holds each of its levels)."""
    return tuple(Level.parse(name) for name in tree.attrs["levels"])


def dataset_grid(ds: xr.Dataset) -> GridSpec:
    """The pixel grid of one level's dataset (from its ``spatial_ref`` and coordinates)."""
    crs = ds.rio.crs
    if crs is None:
        raise CorpusError("dataset has no CRS: write one with rioxarray (ds.rio.write_crs)")
    transform = ds.rio.transform(recalc=True)
    return GridSpec(crs.to_string(), Affine(*tuple(transform)[:6]), (ds.sizes["y"], ds.sizes["x"]))


def reflectance(image: xr.DataArray) -> xr.DataArray:
    """Stored image values as float32 surface reflectance."""
    return image.astype(np.float32) * np.float32(image.attrs.get("reflectance_scale", REFLECTANCE_SCALE))


def mark_complete(path: str | Path) -> None:
    """Flag a fully written corpus as complete; writers call this last, and only once all tiles are in."""
    group = zarr.open_group(str(path), mode="r+")
    group.attrs["status"] = STATUS_COMPLETE


def mark_incomplete(path: str | Path) -> None:
    """Flag a corpus as incomplete again, before tiles of it are rewritten (damaged ones, say)."""
    group = zarr.open_group(str(path), mode="r+")
    group.attrs["status"] = STATUS_INCOMPLETE


def check_no_secrets(obj, where: str = "source") -> None:
    """Refuse provenance that names credentials: outputs must never hold secrets."""
    if isinstance(obj, Mapping):
        for key, value in obj.items():
            if _SECRET_WORDS.search(str(key)):
                raise CorpusError(
                    f"{where}.{key} looks like a credential; it must not be written into outputs"
                )
            check_no_secrets(value, f"{where}.{key}")
    elif isinstance(obj, list | tuple):
        for index, value in enumerate(obj):
            check_no_secrets(value, f"{where}[{index}]")


def _root_attrs(aoi: AreaOfInterest, source: Mapping, levels: Sequence[Level], tile_size: int) -> dict:
    from terrasynth import __version__

    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "aoi": json.dumps(aoi.to_geojson()),
        "source": json.loads(json.dumps(dict(source), default=str)),
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "software_version": __version__,
        "status": STATUS_INCOMPLETE,
        "levels": [level.name for level in sorted(levels, reverse=True)],
        "tile_size": tile_size,
    }


def _validate_level(ds: xr.Dataset, where: str) -> GridSpec:
    try:
        level = Level.parse(where.rsplit("/", 1)[-1])
    except Exception:
        raise CorpusError(f"{where}: level groups must be named by resolution, e.g. '16m'") from None
    for variable, dims in VARIABLES.items():
        if variable not in ds:
            raise CorpusError(f"{where}: variable {variable!r} is missing")
        if ds[variable].dims != dims:
            raise CorpusError(f"{where}: {variable} has dimensions {ds[variable].dims}, expected {dims}")
    ClassTable.from_attrs(ds["landcover"].attrs)
    if "spatial_ref" not in ds.coords:
        raise CorpusError(f"{where}: no spatial_ref (CRS); write it with rioxarray")
    grid = dataset_grid(ds)
    if not np.isclose(grid.resolution, level.gsd) or not np.isclose(-grid.transform.e, level.gsd):
        raise CorpusError(f"{where}: pixel size {grid.resolution} m does not match the level's {level.gsd} m")
    for axis, spacing in (("x", level.gsd), ("y", -level.gsd)):
        steps = np.diff(ds[axis].values)
        if steps.size and not np.allclose(steps, spacing):
            raise CorpusError(f"{where}: {axis} coordinates are not a regular {level.gsd} m grid")
    return grid


def _validate_alignment(grids: dict[str, GridSpec], where: str) -> None:
    names = list(grids)
    first = grids[names[0]]
    for name in names[1:]:
        other = grids[name]
        if other.crs != first.crs:
            raise CorpusError(
                f"{where}: levels {names[0]} and {name} are in different CRS ({first.crs}, {other.crs})"
            )
        if not np.allclose(other.bounds, first.bounds, rtol=0.0, atol=1e-6):
            raise CorpusError(
                f"{where}: levels {names[0]} and {name} do not share origin and extent "
                f"({first.bounds} vs {other.bounds})"
            )
