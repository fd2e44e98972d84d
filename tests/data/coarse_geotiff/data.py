"""A small georeferenced low-resolution GeoTIFF: 3 bands of uint16 reflectance x 1e4 at 16 m, UTM 32N.

Run ``python tests/data/coarse_geotiff/data.py OUT.tif`` to write it by hand.
"""

import sys

import numpy as np
import rasterio
from affine import Affine

CRS = "EPSG:32632"
LEFT, TOP = 500_000.0, 5_100_000.0


def write_coarse_geotiff(path, rows: int = 6, cols: int = 5, gsd: float = 16.0, bands: int = 3) -> None:
    """Smooth gradients of reflectance 0.05-0.35, stored as uint16 x 1e4."""
    y, x = np.mgrid[0:rows, 0:cols]
    reflectance = np.stack([0.05 + 0.3 * (y / rows + b * x / cols) / (1 + b) for b in range(bands)])
    profile = {
        "driver": "GTiff", "width": cols, "height": rows, "count": bands, "dtype": "uint16", "crs": CRS,
        "transform": Affine(gsd, 0, LEFT, 0, -gsd, TOP),
    }  # fmt: skip
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(np.round(reflectance * 1e4).astype(np.uint16))


if __name__ == "__main__":
    write_coarse_geotiff(sys.argv[1])
