"""SyntheticSource honours the Source contract: exactly the requested grid, corpus variables, provenance."""

import json

import numpy as np
import pytest
from affine import Affine

from terrasynth.core import ConfigError, GridSpec, Level, SourceError, aligned_grids
from terrasynth.core.corpus import VARIABLES
from terrasynth.core.landcover import (
    BUILDING,
    DYNAMIC_WORLD,
    WORLDCOVER,
    WORLDCOVER_TO_DYNAMIC_WORLD,
    ClassTable,
    remap,
    with_buildings,
)
from terrasynth.ingest.source import Source
from terrasynth.ingest.synthetic import SyntheticSource, SyntheticWorld

UTM = "EPSG:32632"


@pytest.fixture(scope="module")
def grids():
    return aligned_grids((302_400.0, 4_915_920.0, 302_880.0, 4_916_160.0), UTM, [Level(60.0), Level(16.0)])


def test_read_returns_the_corpus_variables_on_exactly_the_grid(grids):
    source = SyntheticSource(seed=3, date="2020-07-01", clouds=0.3)
    assert isinstance(source, Source) and source.name == "synthetic"
    for name, grid in grids.items():
        level = Level.parse(name)
        ds = source.read(grid, level)
        x, y = grid.coords()
        assert np.array_equal(ds["x"].values, x) and np.array_equal(ds["y"].values, y)
        assert list(ds["band"].values) == source.bands(level) == ["B2", "B3", "B4", "B8"]
        for variable, dims in VARIABLES.items():
            assert ds[variable].dims == dims
        assert ds["image"].dtype == np.uint16 and ds["image"].attrs["reflectance_scale"] == 1e-4
        assert ds["landcover"].dtype == np.uint8 and ds["valid"].dtype == bool
        assert ClassTable.from_attrs(ds["landcover"].attrs) == with_buildings(WORLDCOVER)
        assert set(np.unique(ds["landcover"].values)) <= set(WORLDCOVER.codes) | {BUILDING}
        assert ds.rio.crs.to_string() == UTM
        assert tuple(ds.rio.transform())[:6] == tuple(grid.transform)[:6]
        image, valid = SyntheticWorld(3).image(grid, "2020-07-01", clouds=0.3)
        assert np.array_equal(ds["image"].values, image) and np.array_equal(ds["valid"].values, valid)


def test_describe_gives_the_settings_as_json(grids):
    source = SyntheticSource(seed=7, date="2019-03-04", clouds=True, haze=False)
    description = json.loads(json.dumps(source.describe()))
    assert description["name"] == "synthetic"
    assert (description["seed"], description["date"], description["clouds"], description["haze"]) == (
        7,
        "2019-03-04",
        True,
        False,
    )


def test_dynamic_world_legend(grids):
    grid = grids["60m"]
    worldcover = SyntheticSource(seed=3).read(grid, "60m")["landcover"]
    dynamic = SyntheticSource(seed=3, legend="dynamic-world").read(grid, "60m")["landcover"]
    assert ClassTable.from_attrs(dynamic.attrs) == with_buildings(DYNAMIC_WORLD)
    assert np.array_equal(dynamic.values, remap(worldcover.values, WORLDCOVER_TO_DYNAMIC_WORLD))
    assert dynamic.values.min() >= 1


def test_building_footprints_are_burnt_into_the_land_cover_unless_asked_not_to():
    # the centre of a town of world 3 (near 302754, 4917543 m), at 2 m
    grid = GridSpec.from_bounds((302_600.0, 4_917_400.0, 302_856.0, 4_917_656.0), UTM, 2.0)
    rendering = SyntheticWorld(3).render(grid, "2021-06-01", image=False)
    assert rendering.buildings.mean() > 0.02  # a town: its roofs are footprints, its roads built-up
    with_footprints = SyntheticSource(seed=3).read(grid, Level(2.0))["landcover"].values
    assert np.array_equal(with_footprints == BUILDING, rendering.buildings)
    plain = SyntheticSource(seed=3, buildings=False).read(grid, Level(2.0))["landcover"]
    assert ClassTable.from_attrs(plain.attrs) == WORLDCOVER
    assert np.array_equal(plain.values, rendering.landcover)
    assert (plain.values[rendering.buildings] == 50).all()


def test_bad_settings_and_grids_are_named():
    with pytest.raises(ConfigError, match="clouds"):
        SyntheticSource(clouds=1.5)
    with pytest.raises(ConfigError, match="YYYY-MM-DD"):
        SyntheticSource(date="yesterday")
    with pytest.raises(ConfigError, match="legend"):
        SyntheticSource(legend="corine")
    grid = GridSpec(UTM, Affine(16.0, 0, 302_400.0, 0, -16.0, 4_916_160.0), (4, 4))
    with pytest.raises(SourceError, match="level 60m"):
        SyntheticSource().read(grid, Level(60.0))
