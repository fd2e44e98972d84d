import numpy as np

from terrasynth.core.landcover import BUILDING
from terrasynth.datasets.change_labels import building_mask, second_labels


def test_buildings_are_found_in_every_mask_kind():
    assert building_mask(np.array([10, BUILDING, 50]), "landcover").tolist() == [False, True, False]
    assert building_mask(np.array([0, 1]), "buildings").tolist() == [False, True]
    assert building_mask(np.array([1, 8, 3]), "openearthmap").tolist() == [False, True, False]


def test_masks_map_to_second_classes():
    # WorldCover: tree, water, built-up (ground), crops (low vegetation), a building footprint
    assert second_labels(np.array([10, 80, 50, 40, BUILDING]), "landcover").tolist() == [4, 1, 2, 3, 5]
    # OpenEarthMap 0-8: unknown, bareland, rangeland, developed, road, tree, water, agriculture, building
    assert second_labels(np.arange(9), "openearthmap").tolist() == [2, 2, 3, 2, 2, 4, 1, 3, 5]
    assert second_labels(np.array([0, 1]), "buildings").tolist() == [2, 5]
