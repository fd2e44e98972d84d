"""Surface materials: what the renderer paints, and the WorldCover class each belongs to.

Land cover says what a place is (ESA WorldCover codes); a material says what it looks like from
above. Each material maps to one WorldCover class; roofs are told apart from other built-up
surfaces so that building footprints can be recovered.
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np


class Material(IntEnum):
    WATER = 1
    WETLAND = 2
    TREE = 3
    SHRUB = 4
    GRASS = 5
    CROP = 6  # its colour follows the crop's season (bare soil, green, ripe)
    SOIL = 7  # bare soil: building sites, cleared forest, lots of demolished buildings
    ROCK = 8  # bare rock and sparse vegetation on the heights
    ROAD = 9
    PAVED = 10
    ROOF_TILE = 11
    ROOF_CONCRETE = 12
    ROOF_DARK = 13
    ROOF_METAL = 14


ROOFS = (Material.ROOF_TILE, Material.ROOF_CONCRETE, Material.ROOF_DARK, Material.ROOF_METAL)

WORLDCOVER_OF = {
    Material.WATER: 80,
    Material.WETLAND: 90,
    Material.TREE: 10,
    Material.SHRUB: 20,
    Material.GRASS: 30,
    Material.CROP: 40,
    Material.SOIL: 60,
    Material.ROCK: 60,
    Material.ROAD: 50,
    Material.PAVED: 50,
    Material.ROOF_TILE: 50,
    Material.ROOF_CONCRETE: 50,
    Material.ROOF_DARK: 50,
    Material.ROOF_METAL: 50,
}
"""Material -> ESA WorldCover code."""

_LANDCOVER = np.zeros(max(Material) + 1, dtype=np.uint8)
for _material, _code in WORLDCOVER_OF.items():
    _LANDCOVER[_material] = _code


def landcover_of(materials: np.ndarray) -> np.ndarray:
    """WorldCover codes (uint8) of a material array."""
    return _LANDCOVER[materials]


def is_roof(materials: np.ndarray) -> np.ndarray:
    """Whether each material is a building roof."""
    return materials >= Material.ROOF_TILE
