"""The small Earth Engine catalogue the fake server answers from: footprints, dates, bands, grids.

Every product samples one ground truth, a lattice of 240 m land-cover blocks in the metres of the
request's CRS, each class with its own reflectance spectrum. A product stores it as the real one
does: Sentinel-2 and NICFI as reflectance x 1e4, Landsat Collection 2 with its scale and offset,
NAIP as 8-bit digital numbers, land cover as class codes. A pixel holds the area mean of the truth
over its footprint, on the product's own grid: Landsat pixel corners sit at 15 m mod 30, as in
Collection 2. Footprints and date ranges follow the data catalogue closely enough to fall outside
them on purpose (NICFI between 30 S and 30 N, NAIP over the contiguous US, Sentinel-2 L2A from 2017).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

BLOCK_M = 240.0
"""Edge of a ground-truth land-cover block, metres."""
CLASSES = np.array([10, 30, 40, 50, 80])
"""WorldCover codes of the blocks: tree, grass, crop, built-up, water."""
SPECTRA = {  # surface reflectance per class, in the order of CLASSES
    "blue": np.array([0.03, 0.05, 0.06, 0.12, 0.06]),
    "green": np.array([0.06, 0.09, 0.10, 0.13, 0.07]),
    "red": np.array([0.04, 0.07, 0.09, 0.14, 0.04]),
    "nir": np.array([0.30, 0.32, 0.35, 0.20, 0.02]),
}
DYNAMIC_WORLD_LABELS = np.array([1, 2, 4, 6, 0])
"""Dynamic World ``label`` of each class of CLASSES."""
SATURATED = 65535


def truth_class(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The index into CLASSES of the block holding each point (metres of the request's CRS)."""
    bx, by = np.floor(x / BLOCK_M), np.floor(y / BLOCK_M)
    return ((bx + 2 * by) % len(CLASSES)).astype(int)


def block_mean(table: np.ndarray, cx: np.ndarray, cy: np.ndarray, size: float) -> np.ndarray:
    """The area mean of ``table[class]`` over the square pixels of edge ``size`` centred on (cx, cy)."""
    total = np.zeros(np.broadcast(cx, cy).shape)
    half = size / 2.0
    for xs, wx in _straddle(cx, half):
        for ys, wy in _straddle(cy, half):
            total = total + wx * wy * table[truth_class(xs, ys)]
    return total


def _straddle(centre: np.ndarray, half: float):
    """The (at most two) blocks a pixel spans along one axis: a point in each and its weight."""
    low, high = centre - half, centre + half
    boundary = (np.floor(low / BLOCK_M) + 1) * BLOCK_M
    inside = np.minimum(boundary, high)
    first = (inside - low) / (2 * half)
    yield low, first
    yield boundary, 1.0 - first


@dataclass(frozen=True)
class Product:
    """An image collection of the catalogue.

    Attributes:
        id: the asset ID.
        footprint: (west, south, east, north) degrees covered.
        first, last: the first and the last day an image is stamped.
        every: days between image stamps; a tuple gives the stamps themselves (NICFI's periods).
        bands: band name -> the stored values of pixels from (centres x, centres y, pixel size, day).
        pixel: the product's pixel edge in metres; ``None``: NICFI's 4.77 m x cos(latitude).
        corner: where pixel corners sit, metres mod ``pixel`` (Landsat: 15).
        properties: extra properties of the image stamped on a day.
        band_names: the bands of the image stamped on a day, where not all of ``bands``.
    """

    id: str
    footprint: tuple[float, float, float, float]
    first: dt.date
    last: dt.date
    every: int | tuple[dt.date, ...]
    bands: dict[str, Callable]
    pixel: float | None
    corner: float = 0.0
    properties: Callable[[dt.date], dict] = field(default=lambda day: {})
    band_names: Callable[[dt.date], tuple[str, ...]] | None = None

    def stamps(self) -> list[dt.date]:
        if isinstance(self.every, tuple):
            return list(self.every)
        days = (self.last - self.first).days
        return [self.first + dt.timedelta(days=d) for d in range(0, days + 1, self.every)]


def reflectance(band: str, scale: float, offset: float = 0.0):
    """Stored value of reflectance ``band`` as ``(reflectance - offset) / scale``."""
    table = (SPECTRA[band] - offset) / scale
    return lambda cx, cy, size, day: np.round(block_mean(table, cx, cy, size))


def classes(table):
    """A class band: the class at the pixel centre."""
    table = np.asarray(table, dtype=float)
    return lambda cx, cy, size, day: table[truth_class(cx, cy)]


def constant(value):
    return lambda cx, cy, size, day: np.full(np.broadcast(cx, cy).shape, float(value))


def landsat_radsat(cx, cy, size, day):
    """QA_RADSAT: Landsat 9 saturates its blue band over built-up blocks (bit 0)."""
    return (truth_class(cx, cy) == 3).astype(float)


def _nicfi_periods() -> tuple[dt.date, ...]:
    """Biannual mosaics (December-May, June-November) until August 2020, monthly from September 2020."""
    stamps = []
    for year in range(2015, 2021):
        stamps += [dt.date(year, 12, 1), dt.date(year + 1, 6, 1)]
    stamps = [day for day in stamps if day <= dt.date(2020, 6, 1)]
    day = dt.date(2020, 9, 1)
    while day <= dt.date(2025, 12, 1):
        stamps.append(day)
        day = dt.date(day.year + day.month // 12, day.month % 12 + 1, 1)
    return tuple(stamps)


def _nicfi_end(day: dt.date) -> dict:
    if day < dt.date(2020, 9, 1):  # the last biannual mosaic, June 2020, ends with August
        end = min(dt.date(day.year + (day.month == 12), 6 if day.month == 12 else 12, 1), dt.date(2020, 9, 1))
    else:
        end = dt.date(day.year + day.month // 12, day.month % 12 + 1, 1)
    return {"system:time_end": _ms(end)}


def _naip_bands(day: dt.date) -> tuple[str, ...]:
    return ("R", "G", "B", "N") if day.year >= 2010 else ("R", "G", "B")


def _ms(day: dt.date) -> int:
    return int(dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp() * 1000)


def _landsat(id: str, first: dt.date, saturating: bool) -> Product:
    bands = {
        f"SR_B{i}": reflectance(name, 2.75e-5, -0.2)
        for i, name in zip((2, 3, 4, 5), ("blue", "green", "red", "nir"), strict=True)
    }
    bands["QA_PIXEL"] = constant(21824)  # clear land: bits 0-4 unset, bit 6 (clear) set
    if saturating:
        blue = bands["SR_B2"]
        bands["SR_B2"] = lambda cx, cy, size, day: np.where(
            landsat_radsat(cx, cy, size, day) > 0, SATURATED, blue(cx, cy, size, day)
        )
        bands["QA_RADSAT"] = landsat_radsat
    else:
        bands["QA_RADSAT"] = constant(0)
    return Product(id, (-180, -90, 180, 90), first, dt.date(2026, 1, 1), 16, bands, 30.0, corner=15.0)


NICFI_REGIONS = {
    "africa": (-20.0, -30.0, 55.0, 30.0),
    "asia": (60.0, -30.0, 180.0, 30.0),
    "americas": (-120.0, -30.0, -30.0, 30.0),
}
S2_BANDS = {
    f"B{i}": reflectance(name, 1e-4)
    for i, name in zip((2, 3, 4, 8), ("blue", "green", "red", "nir"), strict=True)
}
NAIP_DN = {name: reflectance(name, 0.5 / 255) for name in SPECTRA}  # 8-bit DN, not reflectance

CATALOGUE: dict[str, Product] = {
    product.id: product
    for product in [
        Product(
            "COPERNICUS/S2_SR_HARMONIZED",
            (-180, -56, 180, 84),
            dt.date(2017, 3, 28),
            dt.date(2026, 1, 1),
            30,
            S2_BANDS,
            10.0,
        ),
        Product(
            "GOOGLE/CLOUD_SCORE_PLUS/V1/S2_HARMONIZED",
            (-180, -56, 180, 84),
            dt.date(2017, 3, 28),
            dt.date(2026, 1, 1),
            30,
            {"cs_cdf": constant(0.9), "cs": constant(0.9)},
            10.0,
        ),
        _landsat("LANDSAT/LC08/C02/T1_L2", dt.date(2013, 4, 11), saturating=False),
        _landsat("LANDSAT/LC09/C02/T1_L2", dt.date(2021, 11, 8), saturating=True),
        *[
            Product(
                f"projects/planet-nicfi/assets/basemaps/{region}",
                box,
                dt.date(2015, 12, 1),
                dt.date(2025, 12, 1),
                _nicfi_periods(),
                {name[0].upper(): reflectance(name, 1e-4) for name in SPECTRA} | {"alpha": constant(255)},
                None,
                properties=_nicfi_end,
            )
            for region, box in NICFI_REGIONS.items()
        ],
        Product(
            "USDA/NAIP/DOQQ",
            (-124.8, 24.5, -66.9, 49.4),
            dt.date(2003, 7, 1),
            dt.date(2023, 7, 1),
            730,
            {"R": NAIP_DN["red"], "G": NAIP_DN["green"], "B": NAIP_DN["blue"], "N": NAIP_DN["nir"]},
            1.0,
            band_names=_naip_bands,
        ),
        Product(
            "ESA/WorldCover/v200",
            (-180, -60, 180, 84),
            dt.date(2021, 1, 1),
            dt.date(2021, 1, 1),
            1,
            {"Map": classes(CLASSES)},
            10.0,
        ),
        Product(
            "GOOGLE/DYNAMICWORLD/V1",
            (-180, -56, 180, 84),
            dt.date(2015, 6, 27),
            dt.date(2026, 1, 1),
            30,
            {"label": classes(DYNAMIC_WORLD_LABELS)},
            10.0,
        ),
        Product(
            "GOOGLE/Research/open-buildings-temporal/v1",
            (-20.0, -35.0, 150.0, 38.0),
            dt.date(2016, 6, 30),
            dt.date(2023, 6, 30),
            365,
            {"building_presence": classes([0.1, 0.1, 0.1, 0.9, 0.0])},
            4.0,
        ),
    ]
}


def nicfi_pixel(latitude: float) -> float:
    """The ground size of a NICFI (Web Mercator zoom 15) pixel at ``latitude``, metres."""
    return 4.777314267823516 * math.cos(math.radians(latitude))


def millis(day: dt.date) -> int:
    return _ms(day)
