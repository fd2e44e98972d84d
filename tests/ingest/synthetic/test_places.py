import json

import numpy as np
import pytest

from terrasynth.core import AreaOfInterest, GridSpec
from terrasynth.ingest.synthetic import SyntheticWorld, town_edges

CENTRE = (9.179, 45.808)  # the demo's


def test_town_edges_are_squares_where_buildings_stand():
    geojson = town_edges(0, CENTRE, count=2, side=320.0)
    squares = json.loads(geojson)["coordinates"]
    assert len(squares) == 2
    regions = AreaOfInterest.parse(geojson).regions()
    assert [region.crs for region in regions] == ["EPSG:32632", "EPSG:32632"]
    for region in regions:
        grid = GridSpec.from_bounds(region.bounds, region.crs, 4.0)
        assert 300 < grid.shape[0] * 4 < 340  # a square of about 320 m
        buildings = SyntheticWorld(0).render(grid, "2021-06-01", image=False).buildings
        assert buildings.mean() > 0.02  # a town's edge, not fields


def test_too_few_towns_is_an_error():
    with pytest.raises(ValueError, match="town edges within 10 m"):
        town_edges(0, CENTRE, count=1, search=10.0)
    assert np.isfinite(json.loads(town_edges(0, CENTRE))["coordinates"][0][0][0]).all()
