"""Grid and window arithmetic, on cases worked by hand (see the comments)."""

import pytest
from affine import Affine
from rasterio.windows import Window

from terrasynth.core import DEFAULT_LADDER, GridError, GridSpec, aligned_grids, snap_window

UTM = "EPSG:32632"
# bounds snapped outward to the 240 m pitch of 60/16/4:
#   left 500010 -> 2083 * 240 = 499920, right 500950 -> 2088 * 240 = 501120 (1200 m wide)
#   bottom 4999990 -> 20833 * 240 = 4999920, top 5000470 -> 20836 * 240 = 5000640 (720 m tall)
BOUNDS = (500010.0, 4999990.0, 500950.0, 5000470.0)


@pytest.fixture
def grids():
    return aligned_grids(BOUNDS, UTM, DEFAULT_LADDER)


def test_levels_share_origin_and_extent(grids):
    assert grids["60m"].shape == (12, 20)
    assert grids["16m"].shape == (45, 75)
    assert grids["4m"].shape == (180, 300)
    for grid in grids.values():
        assert grid.bounds == (499920.0, 4999920.0, 501120.0, 5000640.0)
        assert (grid.transform.c, grid.transform.f) == (499920.0, 5000640.0)
        assert grid.crs == UTM


def test_from_bounds_snaps_outward_to_the_resolution():
    grid = GridSpec.from_bounds((10.0, 5.0, 95.0, 61.0), UTM, 10.0)
    assert grid.bounds == (10.0, 0.0, 100.0, 70.0)
    assert grid.shape == (7, 9)
    assert grid.transform == Affine(10.0, 0.0, 10.0, 0.0, -10.0, 70.0)


def test_window_60m_to_16m_is_fractional_and_exact(grids):
    # 60 m window: columns 1..4, rows 2..3 -> x 499980..500160, y 5000460..5000520.
    window = Window(1, 2, 3, 1)
    assert grids["60m"].window_bounds(window) == (499980.0, 5000460.0, 500160.0, 5000520.0)
    # on 16 m: 60/16 = 3.75 pixels per 60 m pixel
    assert grids["60m"].window_on(grids["16m"], window) == Window(3.75, 7.5, 11.25, 3.75)
    # covering window: columns 3..15 (15 = 3.75 + 11.25), rows 7..12 (11.25 rounds up)
    assert grids["60m"].covering_window(grids["16m"], window) == Window(3, 7, 12, 5)
    assert not grids["60m"].is_aligned(grids["16m"], window)


def test_window_aligned_every_four_60m_pixels(grids):
    # 4 pixels at 60 m = 240 m = 15 pixels at 16 m = 60 pixels at 4 m
    window = Window(4, 8, 4, 4)
    assert grids["60m"].window_on(grids["16m"], window) == Window(15, 30, 15, 15)
    assert grids["60m"].window_on(grids["4m"], window) == Window(60, 120, 60, 60)
    assert grids["60m"].is_aligned(grids["16m"], window)


def test_window_16m_to_60m_covers(grids):
    # 16 m columns 5..13 -> x 80..208 m from the origin -> 60 m columns 1.333..3.467 -> cover 1..4
    window = Window(5, 0, 8, 4)
    exact = grids["16m"].window_on(grids["60m"], window)
    assert exact.col_off == pytest.approx(80 / 60)
    assert exact.width == pytest.approx(128 / 60)
    assert grids["16m"].covering_window(grids["60m"], window) == Window(1, 0, 3, 2)


def test_round_trip_through_bounds(grids):
    grid = grids["16m"]
    window = Window(7, 3, 20, 9)
    assert grid.window_from_bounds(grid.window_bounds(window)) == window


def test_tiles_cover_the_grid_once(grids):
    tiles = list(grids["60m"].tiles(8))
    # 12 x 20 pixels: rows 0, 8; columns 0, 8, 16 -> 6 tiles, the last clipped to 4 x 4
    assert len(tiles) == 6
    assert tiles[0] == Window(0, 0, 8, 8)
    assert tiles[2] == Window(16, 0, 4, 8)
    assert tiles[-1] == Window(16, 8, 4, 4)
    assert sum(t.width * t.height for t in tiles) == 12 * 20
    assert list(grids["60m"].tiles((6, 10))) == [
        Window(0, 0, 10, 6),
        Window(10, 0, 10, 6),
        Window(0, 6, 10, 6),
        Window(10, 6, 10, 6),
    ]


def test_subgrid_moves_the_origin(grids):
    sub = grids["16m"].subgrid(Window(15, 30, 15, 15))
    assert sub.shape == (15, 15)
    assert (sub.transform.c, sub.transform.f) == (499920.0 + 240.0, 5000640.0 - 480.0)
    with pytest.raises(GridError, match="whole-pixel"):
        grids["16m"].subgrid(Window(0.5, 0, 2, 2))


def test_coords_are_pixel_centres():
    grid = GridSpec.from_bounds((0.0, 0.0, 30.0, 20.0), UTM, 10.0)
    x, y = grid.coords()
    assert x.tolist() == [5.0, 15.0, 25.0]
    assert y.tolist() == [15.0, 5.0]


def test_snap_window_ignores_float_noise():
    assert snap_window(Window(2.0000000000001, 0.9999999999999, 3.0, 1.0)) == Window(2, 1, 3, 1)


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: GridSpec(UTM, Affine(10, 0, 0, 0, 10, 0), (2, 2)), "north-up"),
        (lambda: GridSpec(UTM, Affine(10, 0, 0, 0, -10, 0), (0, 2)), "positive whole"),
        (lambda: GridSpec("EPSG:999999", Affine(10, 0, 0, 0, -10, 0), (2, 2)), "unknown CRS"),
        (lambda: GridSpec.from_bounds((5, 0, 5, 10), UTM, 1.0), "empty"),
        (lambda: GridSpec.from_bounds((0, 0, 5, 10), UTM, 16.0, pitch=60.0), "whole number"),
    ],
)
def test_bad_grids_are_refused(make, message):
    with pytest.raises(GridError, match=message):
        make()


def test_windows_across_crs_are_refused(grids):
    other = GridSpec.from_bounds(BOUNDS, "EPSG:32633", 60.0)
    with pytest.raises(GridError, match="different CRS"):
        grids["60m"].window_on(other, Window(0, 0, 1, 1))
