"""The local source: GeoTIFF / COG files the user already has, warped onto each tile's grid.

Files may be in any CRS and resolution. Each tile is read through a GDAL warped view
(``rasterio.vrt.WarpedVRT``) of each file, so only the pixels under the tile are read: reflectance
is averaged onto coarser levels and interpolated bilinearly onto finer ones; land cover takes the
mode onto coarser levels and the nearest class onto finer ones. Where several files overlap, the
first one listed that observes a pixel wins.

A pixel is valid only where a file holds real data: inside its footprint (the warper's alpha band)
and where no band is NaN or the file's nodata value. Every file must be a raster GDAL reads, with a
CRS; an area that none of the images covers is refused before anything is written.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import rasterio
import xarray as xr
from rasterio.enums import Resampling
from rasterio.vrt import WarpedVRT
from rasterio.warp import transform_bounds
from shapely.geometry import box

from terrasynth.core.aoi import AreaOfInterest
from terrasynth.core.corpus import REFLECTANCE_SCALE
from terrasynth.core.errors import ConfigError, SourceError
from terrasynth.core.grid import GridSpec
from terrasynth.core.landcover import WORLDCOVER, ClassTable
from terrasynth.core.levels import Level
from terrasynth.ingest.source import Source


class LocalSource(Source):
    """Reflectance (and optionally land cover) from local rasters.

    Args:
        images: GeoTIFF/COG files holding the imagery, in any CRS; listed first wins where they overlap.
        bands: the bands to keep, as 1-based indexes or band descriptions (default: all bands).
        scale, offset: surface reflectance = stored value x ``scale`` + ``offset`` (default: values
            already hold reflectance x 1e4, as Sentinel-2 L2A does).
        landcover: an optional class raster (any CRS), its codes stored as they are.
        classes: the legend of ``landcover`` (default ESA WorldCover).
    """

    name = "local"

    def __init__(
        self,
        images: Sequence[str | Path],
        *,
        bands: Sequence[int | str] | None = None,
        scale: float = REFLECTANCE_SCALE,
        offset: float = 0.0,
        landcover: str | Path | None = None,
        classes: ClassTable = WORLDCOVER,
    ):
        if not images:
            raise ConfigError("the local source needs at least one image: pass --image FILE")
        self.images = [_existing(path, "image") for path in images]
        self.landcover_path = _existing(landcover, "land-cover raster") if landcover else None
        self.scale, self.offset = float(scale), float(offset)
        self.classes = classes
        self.footprints = {path: _footprint(path, "image") for path in self.images}
        if self.landcover_path:
            self.footprints[self.landcover_path] = _footprint(self.landcover_path, "land-cover raster")
        with rasterio.open(self.images[0]) as first:
            self.indexes, self.band_names = _select_bands(first, bands)
        for path in self.images[1:]:
            with rasterio.open(path) as other:
                if other.count < max(self.indexes):
                    raise ConfigError(
                        f"{path} has {other.count} bands; the first image's band {max(self.indexes)} is asked for"
                    )

    def bands(self, level: Level) -> list[str]:
        return list(self.band_names)

    def check_area(self, aoi: AreaOfInterest) -> None:
        """Refuse an area that no image (or the land-cover raster) reaches: it would be all no data."""
        for paths in (self.images, [self.landcover_path] if self.landcover_path else []):
            if paths and not any(aoi.geometry.intersects(box(*self.footprints[path])) for path in paths):
                extents = "; ".join(f"{path} covers {_degrees(self.footprints[path])}" for path in paths)
                raise SourceError(
                    f"the area {_degrees(aoi.geometry.bounds)} lies outside the local rasters ({extents}): "
                    "choose an --aoi inside them"
                )

    def describe(self) -> dict:
        return {
            "name": self.name,
            "images": [str(path) for path in self.images],
            "bands": dict(zip(self.band_names, self.indexes, strict=True)),
            "reflectance": {"scale": self.scale, "offset": self.offset},
            "landcover": str(self.landcover_path) if self.landcover_path else None,
            "resampling": {
                "reflectance": "average (coarser) / bilinear (finer)",
                "classes": "mode / nearest",
            },
        }

    def read(self, grid: GridSpec, level: Level) -> xr.Dataset:
        image = np.zeros((len(self.indexes), *grid.shape), dtype=np.uint16)
        valid = np.zeros(grid.shape, dtype=bool)
        for path in self.images:
            values, observed = _warp(path, self.indexes, grid, continuous=True)
            fill = observed & ~valid
            if fill.any():
                reflectance = values[:, fill] * self.scale + self.offset
                image[:, fill] = np.clip(np.rint(reflectance / REFLECTANCE_SCALE), 0, 65535).astype(np.uint16)
                valid |= fill
        landcover = np.zeros(grid.shape, dtype=np.uint8)
        if self.landcover_path is not None:
            codes, observed = _warp(self.landcover_path, [1], grid, continuous=False)
            landcover[observed] = np.clip(codes[0][observed], 0, 255).astype(np.uint8)
        x, y = grid.coords()
        return xr.Dataset(
            {
                "image": (("band", "y", "x"), image),
                "landcover": (("y", "x"), landcover),
                "valid": (("y", "x"), valid),
            },
            coords={"band": list(self.band_names), "y": y, "x": x},
        )


def _warp(
    path: Path, indexes: list[int], grid: GridSpec, *, continuous: bool
) -> tuple[np.ndarray, np.ndarray]:
    """``path``'s bands on ``grid`` as float64 (bands, rows, cols), and where they hold real data:
    inside the file's footprint, and no band NaN or the file's nodata value."""
    try:
        with rasterio.open(path) as src:
            left, bottom, right, top = transform_bounds(src.crs, grid.crs, *src.bounds)
            source_resolution = min((right - left) / src.width, (top - bottom) / src.height)  # grid units
            coarser = grid.resolution > source_resolution * (1 + 1e-6)
            if continuous:
                resampling = Resampling.average if coarser else Resampling.bilinear
            else:
                resampling = Resampling.mode if coarser else Resampling.nearest
            with WarpedVRT(
                src,
                crs=grid.crs,
                transform=grid.transform,
                width=grid.width,
                height=grid.height,
                resampling=resampling,
                add_alpha=True,  # 0 beyond the file's footprint and where its nodata lies
            ) as vrt:
                data = vrt.read(indexes).astype(np.float64)
                observed = vrt.read(vrt.count) > 0
            nodata = src.nodata
    except rasterio.RasterioIOError as error:
        raise SourceError(f"cannot read {path}: {error}") from None
    observed &= np.isfinite(data).all(axis=0)
    if nodata is not None:
        observed &= (data != nodata).all(axis=0)
    return data, observed


def _footprint(path: Path, what: str) -> tuple[float, float, float, float]:
    """(west, south, east, north) degrees of the raster ``path`` (the ``what`` of the source), refusing
    a file GDAL cannot read or one without a CRS."""
    try:
        with rasterio.open(path) as src:
            if src.crs is None:
                raise SourceError(
                    f"{what} {path} has no CRS: assign the one it is in, e.g. `gdal_edit.py -a_srs EPSG:32632 {path}` "
                    f"or `rio edit-info --crs EPSG:32632 {path}`"
                )
            return transform_bounds(src.crs, "EPSG:4326", *src.bounds, densify_pts=21)
    except rasterio.RasterioIOError as error:
        raise SourceError(
            f"{what} {path} is not a raster GDAL can read ({error}): give a GeoTIFF or COG"
        ) from None


def _degrees(bounds) -> str:
    west, south, east, north = bounds
    return f"{west:.4f},{south:.4f},{east:.4f},{north:.4f} (W,S,E,N degrees)"


def _select_bands(src, bands: Sequence[int | str] | None) -> tuple[list[int], list[str]]:
    """1-based band indexes and their names (descriptions, else ``b1``, ``b2``...)."""
    names = [description or f"b{i}" for i, description in enumerate(src.descriptions, start=1)]
    if not bands:
        return list(range(1, src.count + 1)), names
    indexes = []
    for band in bands:
        text = str(band).strip()
        if text.isdigit():
            index = int(text)
            if not 1 <= index <= src.count:
                raise ConfigError(f"band {index} is not in {src.name}, which has bands 1-{src.count}")
        elif text in names:
            index = names.index(text) + 1
        else:
            raise ConfigError(f"band {text!r} is not in {src.name}; its bands are {', '.join(names)}")
        indexes.append(index)
    return indexes, [names[i - 1] for i in indexes]


def _existing(path: str | Path, what: str) -> Path:
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{what} {path} does not exist")
    return path
