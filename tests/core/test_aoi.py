import json

import numpy as np
import pytest
from pyproj import Transformer

from terrasynth.core import DEFAULT_LADDER, AOIError, AreaOfInterest, utm_zone


def test_bbox_small_area_is_one_region_in_its_utm_zone():
    (region,) = AreaOfInterest.parse("8.9,45.9,9.3,46.1").regions()
    assert region.crs == "EPSG:32632"
    assert region.name == "r00_utm32n"


def test_small_area_over_a_zone_border_stays_whole_and_is_covered():
    # 11.8..12.1 E straddles the 12 E border of zones 32 and 33; centroid 11.95 E -> zone 32.
    aoi = AreaOfInterest.from_bbox(11.8, 45.0, 12.1, 45.1)
    (region,) = aoi.regions()
    assert region.crs == "EPSG:32632"
    grids = region.grids(DEFAULT_LADDER)
    to_utm = Transformer.from_crs("EPSG:4326", region.crs, always_xy=True)
    left, bottom, right, top = grids["4m"].bounds
    for lon, lat in [(11.8, 45.0), (12.1, 45.0), (11.8, 45.1), (12.1, 45.1), (12.1, 45.05)]:
        x, y = to_utm.transform(lon, lat)
        assert left <= x <= right and bottom <= y <= top
    # about 0.3 degrees of longitude at 45 N is ~23.6 km, snapped out to 240 m
    assert 23_000 < right - left < 24_500
    for grid in grids.values():
        assert grid.bounds == grids["60m"].bounds
        assert grid.transform.c % 240 == 0 and grid.transform.f % 240 == 0


def test_wide_area_is_cut_at_zone_borders():
    regions = AreaOfInterest.from_bbox(5.0, 10.0, 20.0, 12.0).regions()
    assert [r.crs for r in regions] == ["EPSG:32631", "EPSG:32632", "EPSG:32633", "EPSG:32634"]
    assert [tuple(round(v, 6) for v in r.geometry.bounds[::2]) for r in regions] == [
        (5.0, 6.0),
        (6.0, 12.0),
        (12.0, 18.0),
        (18.0, 20.0),
    ]


def test_southern_hemisphere_uses_327xx():
    (region,) = AreaOfInterest.from_bbox(-47.0, -15.9, -46.8, -15.7).regions()
    assert region.crs == "EPSG:32723"
    assert region.name == "r00_utm23s"
    assert region.bounds[1] > 0  # false northing keeps southern y positive


def test_antimeridian_bbox_is_split():
    aoi = AreaOfInterest.from_bbox(179.5, -17.0, -179.5, -16.5)
    regions = aoi.regions()
    assert sorted(r.crs for r in regions) == ["EPSG:32701", "EPSG:32760"]
    assert sum(r.geometry.area for r in regions) == pytest.approx(0.5)


def test_antimeridian_polygon_is_split():
    ring = [[179.0, 60.0], [-179.0, 60.0], [-179.0, 61.0], [179.0, 61.0], [179.0, 60.0]]
    aoi = AreaOfInterest.from_geojson({"type": "Polygon", "coordinates": [ring]})
    assert aoi.geometry.geom_type == "MultiPolygon"
    assert aoi.geometry.area == pytest.approx(2.0)
    assert sorted(r.crs for r in aoi.regions()) == ["EPSG:32601", "EPSG:32660"]


def test_geojson_file_feature_collection(tmp_path):
    collection = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {},
                "geometry": {
                    "type": "Polygon",
                    "coordinates": [[[0.1, 0.1], [0.2, 0.1], [0.2, 0.2], [0.1, 0.2], [0.1, 0.1]]],
                },
            },
            {
                "type": "Feature",
                "properties": {},
                "geometry": {
                    "type": "Polygon",
                    "coordinates": [[[30.1, 0.1], [30.2, 0.1], [30.2, 0.2], [30.1, 0.2], [30.1, 0.1]]],
                },
            },
        ],
    }
    path = tmp_path / "area.geojson"
    path.write_text(json.dumps(collection))
    regions = AreaOfInterest.parse(str(path)).regions()
    assert [r.crs for r in regions] == ["EPSG:32631", "EPSG:32636"]


def test_wkt_and_geojson_text():
    wkt = AreaOfInterest.parse("POLYGON ((1 1, 2 1, 2 2, 1 2, 1 1))")
    text = AreaOfInterest.parse('{"type": "Polygon", "coordinates": [[[1,1],[2,1],[2,2],[1,2],[1,1]]]}')
    assert wkt.geometry.equals(text.geometry)
    assert AreaOfInterest.parse_text(json.dumps(wkt.to_geojson())).geometry.equals(wkt.geometry)


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "empty"),
        ("POLYGON EMPTY", "empty"),
        ("POINT (1 1)", "must be a polygon"),
        ("POLYGON ((0 0, 1 1, 1 0, 0 1, 0 0))", "not a valid polygon.*Self-intersection"),
        ("200,0,201,1", "out of range"),
        ("0,95,1,96", "out of range"),
        ("0,2,1,1", "south"),
        ("3,0,3,1", "empty"),
        ("0,85,1,86", "polar"),
        ("1,2,3", "neither a bbox"),
        ('{"type": "Polygon", "coordinates": [[[0, 0], [1, 0]', "not valid JSON"),
        ('{"type": "Feature", "geometry": null}', "no geometry"),
        ("missing.geojson", "does not exist"),
    ],
)
def test_bad_areas_get_clear_errors(text, message):
    with pytest.raises(AOIError, match=message) as caught:
        AreaOfInterest.parse(text)
    assert "\n" not in str(caught.value)


def test_utm_zone_numbers():
    assert utm_zone(9.0, 45.0) == (32, True)
    assert utm_zone(-180.0, -1.0) == (1, False)
    assert utm_zone(180.0, 1.0) == (60, True)
    assert utm_zone(11.999, 0.0)[0] == 32 and utm_zone(12.0, 0.0)[0] == 33


def test_inside_marks_pixels_of_the_region():
    (region,) = AreaOfInterest.from_bbox(9.0, 45.0, 9.01, 45.01).regions()
    grid = region.grids(DEFAULT_LADDER)["16m"]
    inside = region.inside(grid)
    assert inside.shape == grid.shape
    assert inside[grid.height // 2, grid.width // 2]
    # the grid is snapped outward, so its corners are outside, and most pixels are inside
    assert not inside[0, 0] and 0.7 < np.mean(inside) < 1.0


def test_long_geojson_text_is_read_as_text_not_as_a_file_name():
    ring = [[9.0 + i * 1e-4, 45.0 + (i % 2) * 1e-3] for i in range(40)] + [[9.0, 45.0]]
    text = json.dumps(
        {"type": "Polygon", "coordinates": [[[9.0, 45.0], *ring[1:-1], [9.0, 45.002], [9.0, 45.0]]]}
    )
    assert len(text) > 255  # longer than any file name
    assert AreaOfInterest.parse(text).regions()


def test_a_square_of_metres_around_a_point_is_that_wide_on_the_ground():
    area = AreaOfInterest.square((9.179, 45.808), 2000.0)
    (region,) = area.regions()
    left, bottom, right, top = region.bounds
    # degrees from metres on a sphere, and a meridian-aligned box slightly turned in the UTM grid
    # (grid convergence): its UTM bounds exceed the side by under 1 % here (0.4 % and 0.7 %)
    assert right - left == pytest.approx(2000.0, rel=1e-2) and top - bottom == pytest.approx(2000.0, rel=1e-2)
