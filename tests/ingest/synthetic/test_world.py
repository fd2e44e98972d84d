"""The synthetic world: determinism, seamless windows, resolutions that agree, change over time."""

import datetime as dt
import hashlib

import numpy as np
import pytest
from affine import Affine
from rasterio.windows import Window

from terrasynth.core import ConfigError, GridSpec, SourceError
from terrasynth.ingest.synthetic import SyntheticWorld, true_colour

UTM = "EPSG:32632"
TOWN_EDGE = (302_400.0, 4_916_160.0)  # seed 0: the edge of a growing town, with gardens and forest
PINNED_CORNER = (304_712.0, 4_916_160.0)  # seed 0: a farmstead on shrubland at a cloud's edge
# sha256 of image, land cover, valid and buildings of the 32 x 32 px render at PINNED_CORNER in
# test_repeats_are_bit_identical_and_pinned. A change means the world is no longer the one every
# machine has drawn so far: update it only on purpose, and say so.
PINNED = "670c1597dafd8931eeeef4fa0c8884470d98dd50a14eb3f0906213eed43ad33b"


def grid_at(x0: float, y0: float, resolution: float, rows: int, columns: int) -> GridSpec:
    """The grid of ``rows`` x ``columns`` pixels with its top-left corner at (x0, y0) metres."""
    return GridSpec(UTM, Affine(resolution, 0.0, x0, 0.0, -resolution, y0), (rows, columns))


def block_mean(values: np.ndarray, k: int) -> np.ndarray:
    *lead, rows, columns = values.shape
    return values.reshape(*lead, rows // k, k, columns // k, k).astype(np.float64).mean(axis=(-3, -1))


@pytest.fixture(scope="module")
def world():
    return SyntheticWorld(seed=0)


def test_repeats_are_bit_identical_and_pinned(world):
    grid = grid_at(*PINNED_CORNER, 4.0, 32, 32)
    first = world.render(grid, "2021-06-01", clouds=0.5)
    again = SyntheticWorld(seed=0).render(grid, dt.date(2021, 6, 1), clouds=0.5)
    layers = ("image", "landcover", "valid", "buildings")
    for name in layers:
        assert np.array_equal(getattr(first, name), getattr(again, name)), name
    assert first.image.dtype == np.uint16 and first.image.shape == (4, 32, 32)
    assert first.landcover.dtype == np.uint8 and first.valid.dtype == bool
    assert 0 < first.valid.mean() < 1 and first.buildings.any() and len(np.unique(first.landcover)) > 2
    digest = hashlib.sha256(b"".join(getattr(first, name).tobytes() for name in layers)).hexdigest()
    assert digest == PINNED


def test_seeds_give_different_worlds(world):
    grid = grid_at(*TOWN_EDGE, 16.0, 16, 16)
    assert not np.array_equal(
        world.landcover(grid, "2021-06-01"), SyntheticWorld(1).landcover(grid, "2021-06-01")
    )


@pytest.mark.parametrize(
    ("origin", "resolution", "shape", "window"),
    [
        (TOWN_EDGE, 4.0, (90, 80), Window(37, 51, 29, 23)),
        (TOWN_EDGE, 10.0, (30, 30), Window(3, 7, 9, 5)),
        (TOWN_EDGE, 60.0, (7, 5), Window(1, 3, 3, 3)),
        ((302_401.3, 4_916_158.7), 4.0, (40, 40), Window(13, 7, 11, 19)),  # origin off the pixel lattice
    ],
)
def test_a_window_equals_the_same_crop_of_a_larger_request(world, origin, resolution, shape, window):
    large = grid_at(*origin, resolution, *shape)
    whole = world.render(large, "2022-09-15", clouds=0.4)
    part = world.render(large.subgrid(window), "2022-09-15", clouds=0.4)
    rows = slice(window.row_off, window.row_off + window.height)
    columns = slice(window.col_off, window.col_off + window.width)
    assert np.array_equal(part.image, whole.image[:, rows, columns])
    for name in ("landcover", "valid", "buildings"):
        assert np.array_equal(getattr(part, name), getattr(whole, name)[rows, columns]), name


def test_coarse_renders_are_block_averages_of_the_4m_render(world):
    fine = world.render(grid_at(*TOWN_EDGE, 4.0, 60, 60), "2021-06-01", clouds=0.5)
    for resolution, k in ((16.0, 4), (60.0, 15)):
        coarse = world.render(grid_at(*TOWN_EDGE, resolution, 60 // k, 60 // k), "2021-06-01", clouds=0.5)
        # Each render rounds to whole units once: the two differ by at most one unit.
        assert np.abs(coarse.image - block_mean(fine.image, k)).max() <= 1.0
        assert np.array_equal(coarse.valid, block_mean(fine.valid, k) == 1.0)
        for row in range(60 // k):
            for column in range(60 // k):
                block = fine.landcover[row * k : (row + 1) * k, column * k : (column + 1) * k]
                assert coarse.landcover[row, column] == np.argmax(np.bincount(block.ravel()))


def test_clouds_are_bright_and_not_valid():
    world = SyntheticWorld(seed=0, pitch=60.0)  # one sample per pixel: a wide view, quickly
    grid = grid_at(*TOWN_EDGE, 60.0, 100, 100)
    clear = world.render(grid, "2021-06-01")
    cloudy = world.render(grid, "2021-06-01", clouds=0.5)
    assert clear.valid.all()
    assert 0.05 < 1.0 - cloudy.valid.mean() < 0.95
    blue, ground = cloudy.image[0].astype(float), clear.image[0].astype(float)
    opaque = blue - ground > 2000  # a cloud's reflectance is about 0.6
    assert opaque.any() and not cloudy.valid[opaque].any()
    # Where valid, at most a trace of cloud or shadow remains.
    assert np.all(np.abs(blue - ground)[cloudy.valid] <= 0.08 * ground[cloudy.valid] + 150)
    assert np.array_equal(clear.landcover, cloudy.landcover)


def test_change_is_the_land_cover_difference(world):
    for resolution, size in ((4.0, 64), (60.0, 6)):
        grid = grid_at(*TOWN_EDGE, resolution, size, size)
        change = world.change(grid, "2016-05-01", "2026-08-01")
        expected = world.landcover(grid, "2016-05-01") != world.landcover(grid, "2026-08-01")
        assert change.dtype == bool and np.array_equal(change, expected)
        assert change.any()
        assert not world.change(grid, "2021-06-01", dt.date(2021, 6, 1)).any()


def test_events_happen_between_dates_far_apart():
    # A wide view, sampled every 16 m to keep it quick.
    world = SyntheticWorld(seed=0, pitch=16.0)
    grid = grid_at(300_000.0, 4_930_000.0, 32.0, 200, 200)
    before, after = world.landcover(grid, "2000-06-01"), world.landcover(grid, "2030-06-01")
    transitions = set(zip(before[before != after].tolist(), after[before != after].tolist(), strict=True))
    assert any(a != 50 and b == 50 for a, b in transitions), "towns grow"
    assert any(a == 10 and b in (20, 30, 60) for a, b in transitions), "forest is cleared"
    assert any(80 in (a, b) and a != b for a, b in transitions), "water levels move"
    assert (40, 30) in transitions or (30, 40) in transitions, "parcels turn between crop and pasture"


def test_buildings_are_built(world):
    grid = grid_at(*TOWN_EDGE, 4.0, 64, 64)
    assert world.buildings(grid, "2030-06-01").sum() > world.buildings(grid, "2000-06-01").sum()


def test_crops_change_colour_with_the_season_but_not_their_class(world):
    grid = grid_at(300_000.0, 4_930_000.0, 16.0, 64, 64)
    spring, summer = world.render(grid, "2021-04-01"), world.render(grid, "2021-08-15")
    crops = (spring.landcover == 40) & (summer.landcover == 40)
    assert crops.mean() > 0.1
    near_infrared = (spring.image[3][crops].astype(float), summer.image[3][crops].astype(float))
    assert np.abs(near_infrared[0] - near_infrared[1]).mean() > 300  # 0.03 reflectance


def test_true_colour_view(world):
    grid = grid_at(*TOWN_EDGE, 4.0, 16, 24)
    rgb = world.rgb(grid, "2021-06-01")
    assert rgb.shape == (16, 24, 3) and rgb.dtype == np.uint8
    image, _ = world.image(grid, "2021-06-01")
    assert np.array_equal(rgb, true_colour(image))
    assert rgb.std() > 5


def test_asking_for_the_image_of_a_render_without_painting_is_refused(world):
    grid = grid_at(*TOWN_EDGE, 4.0, 4, 4)
    assert world.render(grid, "2021-06-01", image=False).image is None
    with pytest.raises(ValueError, match="image=False"):
        world.image(grid, "2021-06-01", image=False)


def test_bad_input_is_named():
    with pytest.raises(SourceError, match="metres"):
        SyntheticWorld().landcover(
            GridSpec("EPSG:4326", Affine(0.001, 0, 9, 0, -0.001, 46), (4, 4)), "2021-06-01"
        )
    with pytest.raises(ConfigError, match="YYYY-MM-DD"):
        SyntheticWorld().landcover(grid_at(*TOWN_EDGE, 4.0, 4, 4), "June 2021")
