"""The labels of change data from the masks a Changen2 model draws, by mask kind (``landcover``:
WorldCover with building footprints, ``buildings``: building on background, ``openearthmap``:
OpenEarthMap's codes 0-8): where buildings stand (LEVIR-CD's building change) and SECOND's six
classes (1 water, 2 ground, 3 low vegetation, 4 tree, 5 building, 6 playground)."""

from __future__ import annotations

import numpy as np

from terrasynth.core.change_data import second_classes
from terrasynth.core.landcover import BUILDING

BUILDING_CODES = {"landcover": BUILDING, "buildings": 1, "openearthmap": 8}
"""The building code of each mask kind."""
OPENEARTHMAP_SECOND = np.array([2, 2, 3, 2, 2, 4, 1, 3, 5], np.uint8)
"""SECOND values of OpenEarthMap codes 0-8: bareland, developed space and road as ground (2),
rangeland and agriculture as low vegetation (3), tree (4), water (1), building (5)."""


def building_mask(masks: np.ndarray, kind: str) -> np.ndarray:
    """Where ``masks`` of mask kind ``kind`` hold a building (bool, same shape)."""
    return masks == BUILDING_CODES[kind]


def second_labels(masks: np.ndarray, kind: str) -> np.ndarray:
    """SECOND values (1-6) of ``masks``: WorldCover mapped as the synthetic change sets do, building
    footprints as building (5); OpenEarthMap classes by :data:`OPENEARTHMAP_SECOND`; building masks as
    building (5) on ground (2)."""
    if kind == "landcover":
        return second_classes(masks.astype(np.uint8), masks == BUILDING)
    if kind == "openearthmap":
        return OPENEARTHMAP_SECOND[masks]
    return np.where(masks == 1, np.uint8(5), np.uint8(2))
