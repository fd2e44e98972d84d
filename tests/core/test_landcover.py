import numpy as np
import pytest

from terrasynth.core import (
    BUILDING,
    DYNAMIC_WORLD,
    WORLDCOVER,
    WORLDCOVER_TO_DYNAMIC_WORLD,
    ClassTable,
    CorpusError,
    remap,
)


def test_worldcover_codes():
    assert WORLDCOVER.codes == [10, 20, 30, 40, 50, 60, 70, 80, 90, 95, 100]
    assert WORLDCOVER.name(50) == "built_up" and WORLDCOVER.code("permanent_water_bodies") == 80


def test_attrs_round_trip():
    for table in (WORLDCOVER, DYNAMIC_WORLD):
        assert ClassTable.from_attrs(table.to_attrs()) == table


def test_malformed_attrs():
    attrs = WORLDCOVER.to_attrs() | {"flag_meanings": "a b"}
    with pytest.raises(CorpusError, match="11 codes, 2 names"):
        ClassTable.from_attrs(attrs)


def test_colorize_uses_the_palette():
    rgb = WORLDCOVER.colorize(np.array([[10, 80], [0, 7]]))
    assert rgb.dtype == np.uint8
    assert rgb[0, 0].tolist() == [0, 100, 0] and rgb[0, 1].tolist() == [0, 100, 200]
    assert rgb[1].tolist() == [[0, 0, 0], [0, 0, 0]]


def test_worldcover_to_dynamic_world():
    codes = np.array([10, 50, 80, 0, 95])
    out = remap(codes, WORLDCOVER_TO_DYNAMIC_WORLD)
    assert [DYNAMIC_WORLD.name(c) for c in out[[0, 1, 2, 4]]] == [
        "trees",
        "built",
        "water",
        "flooded_vegetation",
    ]
    assert out[3] == 0
    assert set(WORLDCOVER_TO_DYNAMIC_WORLD) == set(WORLDCOVER.codes) | {BUILDING}
    assert remap(np.array([BUILDING]), WORLDCOVER_TO_DYNAMIC_WORLD)[0] == BUILDING
