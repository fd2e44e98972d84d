"""The Earth Engine products terrasynth reads: asset IDs, bands, scales, native resolutions.

Plain data (no ``ee`` import), so plans, provenance and tests can name products without the
client. Reflectance products map their bands onto four common names, blue, green, red and
near-infrared, so every level of a corpus has the same bands whichever product filled it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from terrasynth.core.errors import ConfigError
from terrasynth.core.landcover import DYNAMIC_WORLD, WORLDCOVER, ClassTable

COMMON_BANDS = ("blue", "green", "red", "nir")
"""Band names of every corpus image written from Earth Engine."""
REFLECTANCE_UNITS = "reflectance x 1e4"


@dataclass(frozen=True)
class Imagery:
    """A surface-reflectance product.

    Attributes:
        name: the command-line name.
        collections: image collection asset IDs, merged.
        bands: the native band of each of :data:`COMMON_BANDS`, in that order.
        gsd: native ground sampling distance in metres.
        scale, offset: reflectance = stored value x scale + offset.
        cloud_mask: ``"cloud-score-plus"``, ``"landsat-qa"`` or ``None`` (already cloud-free).
        units: what the stored values are: :data:`REFLECTANCE_UNITS` (reflectance x 1e4) or, for
            a product that is not calibrated, its own unit.
        coverage: (west, south, east, north) degrees outside which the product has no image;
            ``None`` for near-global products.
        mercator: pixels are ``gsd`` metres in Web Mercator, so ``gsd x cos(latitude)`` on the ground.
        periods: images are mosaics stamped at the start of their period (``system:time_start``)
            and ending at ``system:time_end``; a date range selects every period it overlaps.
        required_band: a band some images lack; those are left out (older RGB-only NAIP).
    """

    name: str
    collections: tuple[str, ...]
    bands: tuple[str, ...]
    gsd: float
    scale: float
    offset: float = 0.0
    cloud_mask: str | None = None
    units: str = "reflectance x 1e4"
    coverage: tuple[float, float, float, float] | None = None
    mercator: bool = False
    periods: bool = False
    required_band: str | None = None

    def ground_gsd(self, latitude: float) -> float:
        """The native pixel size on the ground at ``latitude`` (degrees), metres."""
        return self.gsd * math.cos(math.radians(latitude)) if self.mercator else self.gsd


@dataclass(frozen=True)
class LandCover:
    """A land-cover product.

    Attributes:
        name: the command-line name.
        collection: image collection asset ID.
        band: the class band.
        gsd: native ground sampling distance in metres.
        classes: the stored legend.
        code_offset: added to the product's codes to give the stored codes (Dynamic World: +1).
        temporal: True when many images over the date range are reduced to their mode.
    """

    name: str
    collection: str
    band: str
    gsd: float
    classes: ClassTable
    code_offset: int = 0
    temporal: bool = False


SENTINEL2 = Imagery(
    "sentinel2",
    ("COPERNICUS/S2_SR_HARMONIZED",),
    ("B2", "B3", "B4", "B8"),
    10.0,
    1e-4,
    0.0,
    "cloud-score-plus",
)
LANDSAT = Imagery(
    "landsat",
    ("LANDSAT/LC08/C02/T1_L2", "LANDSAT/LC09/C02/T1_L2"),
    ("SR_B2", "SR_B3", "SR_B4", "SR_B5"),
    30.0,
    2.75e-5,
    -0.2,
    "landsat-qa",
)
NICFI = Imagery(
    "nicfi",
    (
        "projects/planet-nicfi/assets/basemaps/africa",
        "projects/planet-nicfi/assets/basemaps/asia",
        "projects/planet-nicfi/assets/basemaps/americas",
    ),
    ("B", "G", "R", "N"),
    4.777314267823516,
    1e-4,
    coverage=(-180.0, -30.0, 180.0, 30.0),
    mercator=True,
    periods=True,
)
"""Planet NICFI basemaps of the tropics: biannual mosaics until August 2020, monthly after."""
NAIP = Imagery(
    "naip",
    ("USDA/NAIP/DOQQ",),
    ("B", "G", "R", "N"),
    0.6,
    1.0,
    units="digital number (8-bit, 0-255; not reflectance)",
    coverage=(-125.0, 24.0, -66.0, 50.0),
    required_band="N",
)
"""NAIP over the contiguous US: 8-bit digital numbers, not calibrated reflectance, stored as they
are; 0.6 m since 2018 (1 m before); older years are RGB only and left out."""

CLOUD_SCORE_PLUS = "GOOGLE/CLOUD_SCORE_PLUS/V1/S2_HARMONIZED"
CLOUD_SCORE_BAND = "cs_cdf"
LANDSAT_QA_BAND = "QA_PIXEL"
LANDSAT_QA_BITS = 0b11111
"""QA_PIXEL bits 0-4: fill, dilated cloud, cirrus, cloud, cloud shadow."""
LANDSAT_SATURATION_BAND = "QA_RADSAT"
"""Radiometric saturation per band; a pixel with any bit set is left out."""

WORLDCOVER_PRODUCT = LandCover("worldcover", "ESA/WorldCover/v200", "Map", 10.0, WORLDCOVER)
DYNAMIC_WORLD_PRODUCT = LandCover(
    "dynamicworld", "GOOGLE/DYNAMICWORLD/V1", "label", 10.0, DYNAMIC_WORLD, code_offset=1, temporal=True
)

OPEN_BUILDINGS = "GOOGLE/Research/open-buildings-temporal/v1"
OPEN_BUILDINGS_BAND = "building_presence"
OPEN_BUILDINGS_GSD = 4.0
OPEN_BUILDINGS_YEARS = (2016, 2023)
BUILT_CODE = {WORLDCOVER.scheme: 50, DYNAMIC_WORLD.scheme: 7}
"""The built-up class that building pixels are burnt into, per legend."""

IMAGERY = {product.name: product for product in (SENTINEL2, LANDSAT, NICFI, NAIP)}
LANDCOVER = {product.name: product for product in (WORLDCOVER_PRODUCT, DYNAMIC_WORLD_PRODUCT)}


def imagery(name: str) -> Imagery:
    """The reflectance product called ``name``."""
    if name not in IMAGERY:
        raise ConfigError(f"unknown imagery {name!r}: choose one of {', '.join(IMAGERY)}")
    return IMAGERY[name]


def landcover(name: str) -> LandCover:
    """The land-cover product called ``name``."""
    if name not in LANDCOVER:
        raise ConfigError(f"unknown land cover {name!r}: choose one of {', '.join(LANDCOVER)}")
    return LANDCOVER[name]
