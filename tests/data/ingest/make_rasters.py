"""Writes small GeoTIFFs whose values are known functions of their own coordinates.

Reflectance digital numbers are linear in longitude and latitude (so averaging and bilinear
interpolation keep them exact, and any misplacement shows as an offset); land cover is a
checkerboard of WorldCover classes. Run as a script to write them into a directory.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import rasterio
from affine import Affine

BOUNDS = (9.0, 45.0, 9.02, 45.01)
"""(west, south, east, north) degrees of the default rasters (EPSG:4326)."""
HOLE = (9.004, 45.002, 9.009, 45.006)
"""A box of no-data pixels in the reflectance raster, degrees."""
CLASSES = (10, 40)
"""Land-cover classes of the checkerboard's even and odd cells."""
CELL = 0.005
"""Checkerboard cell size, degrees."""


def gradient(lon, lat, band: int):
    """The digital number of ``band`` (0-based) at ``lon``, ``lat`` degrees."""
    west, south, east, north = BOUNDS
    return 1000 + 300 * band + 20000 * (lon - west) / (east - west) + 8000 * (lat - south) / (north - south)


def checkerboard(lon, lat):
    """The land-cover class at ``lon``, ``lat`` degrees."""
    west, south, _, _ = BOUNDS
    parity = (np.floor((lon - west) / CELL) + np.floor((lat - south) / CELL)) % 2
    return np.where(parity == 0, CLASSES[0], CLASSES[1])


def _centres(shape):
    west, south, east, north = BOUNDS
    rows, cols = shape
    lon = west + (np.arange(cols) + 0.5) * (east - west) / cols
    lat = north - (np.arange(rows) + 0.5) * (north - south) / rows
    return np.meshgrid(lon, lat)


def _transform(shape):
    west, south, east, north = BOUNDS
    return Affine((east - west) / shape[1], 0.0, west, 0.0, -(north - south) / shape[0], north)


def write_reflectance(path: str | Path, shape=(150, 300)) -> Path:
    """A 4-band uint16 GeoTIFF in EPSG:4326 (nodata 0, with a hole), bands described B2, B3, B4, B8."""
    lon, lat = _centres(shape)
    hole = (lon > HOLE[0]) & (lon < HOLE[2]) & (lat > HOLE[1]) & (lat < HOLE[3])
    data = np.stack([np.where(hole, 0, np.rint(gradient(lon, lat, b))) for b in range(4)]).astype(np.uint16)
    profile = {
        "driver": "GTiff",
        "width": shape[1],
        "height": shape[0],
        "count": 4,
        "dtype": "uint16",
        "crs": "EPSG:4326",
        "transform": _transform(shape),
        "nodata": 0,
        "tiled": True,
        "blockxsize": 64,
        "blockysize": 64,
    }
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data)
        dst.descriptions = ("B2", "B3", "B4", "B8")
    return Path(path)


def write_landcover(path: str | Path, shape=(100, 200)) -> Path:
    """A uint8 WorldCover-coded checkerboard GeoTIFF in EPSG:4326, no nodata value."""
    lon, lat = _centres(shape)
    profile = {
        "driver": "GTiff",
        "width": shape[1],
        "height": shape[0],
        "count": 1,
        "dtype": "uint8",
        "crs": "EPSG:4326",
        "transform": _transform(shape),
    }
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(checkerboard(lon, lat).astype(np.uint8), 1)
    return Path(path)


def write_raster(
    path: str | Path, data: np.ndarray, bounds=BOUNDS, *, crs: str | None = "EPSG:4326", nodata=None
) -> Path:
    """``data`` (bands, rows, cols) as a GeoTIFF over ``bounds`` (west, south, east, north in ``crs``),
    with no CRS when ``crs`` is None and no nodata value unless given."""
    west, south, east, north = bounds
    bands, rows, cols = data.shape
    profile = {
        "driver": "GTiff",
        "width": cols,
        "height": rows,
        "count": bands,
        "dtype": data.dtype,
        "transform": Affine((east - west) / cols, 0.0, west, 0.0, -(north - south) / rows, north),
        **({"crs": crs} if crs else {}),
        **({"nodata": nodata} if nodata is not None else {}),
    }
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data)
    return Path(path)


if __name__ == "__main__":
    directory = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
    directory.mkdir(parents=True, exist_ok=True)
    print(write_reflectance(directory / "reflectance.tif"), write_landcover(directory / "landcover.tif"))
