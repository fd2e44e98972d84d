import numpy as np
import pytest
from make_rasters import CELL, HOLE, checkerboard, gradient
from pyproj import Transformer

from terrasynth.core import DEFAULT_LADDER, AreaOfInterest, ConfigError
from terrasynth.ingest.local import LocalSource

AOI = "9.002,45.001,9.018,45.009"  # inside the rasters (9.0-9.02 E, 45.0-45.01 N); the grids reach beyond


def lonlat(grid):
    x, y = grid.coords()
    xx, yy = np.meshgrid(x, y)
    return Transformer.from_crs(grid.crs, "EPSG:4326", always_xy=True).transform(xx, yy)


@pytest.mark.parametrize("level", DEFAULT_LADDER, ids=str)
def test_a_raster_in_another_crs_lands_on_the_level_grid(rasters, level):
    reflectance, landcover = rasters
    source = LocalSource([reflectance], landcover=landcover)
    grid = AreaOfInterest.parse(AOI).regions()[0].grids(DEFAULT_LADDER)[level.name]
    ds = source.read(grid, level)
    lon, lat = lonlat(grid)
    margin = 2 * level.gsd / 78_000  # two pixels, in degrees of longitude at 45 N
    interior = (lon > 9.0 + margin) & (lon < 9.02 - margin) & (lat > 45.0 + margin) & (lat < 45.01 - margin)
    hole = (
        (lon > HOLE[0] - margin)
        & (lon < HOLE[2] + margin)
        & (lat > HOLE[1] - margin)
        & (lat < HOLE[3] + margin)
    )
    clean = interior & ~hole
    assert clean.sum() > 20
    assert ds.valid.values[clean].all()
    outside = (lon < 9.0) | (lon > 9.02) | (lat < 45.0) | (lat > 45.01)
    assert outside.any() and not ds.valid.values[outside].any()
    pixel = level.gsd / 78_000
    in_hole = (
        (lon > HOLE[0] + pixel) & (lon < HOLE[2] - pixel) & (lat > HOLE[1] + pixel) & (lat < HOLE[3] - pixel)
    )
    assert in_hole.any() and not ds.valid.values[in_hole].any()

    stored = ds.image.values.astype(float)
    for band in range(4):
        error = np.abs(stored[band][clean] - gradient(lon, lat, band)[clean])
        assert error.max() <= 8, (level, band, error.max())
    # The check would see a misplacement by half a pixel: the gradient moves 25 DN over 2 m.
    shifted = gradient(lon + 0.5 * level.gsd / 78_600, lat, 0)
    assert np.abs(stored[0][clean] - shifted[clean]).min() > 8

    away = clean & _far_from_cell_edges(lon, lat, 1.5 * level.gsd)
    assert away.sum() > 10
    np.testing.assert_array_equal(ds.landcover.values[away], checkerboard(lon, lat)[away])
    assert list(ds.band.values) == ["B2", "B3", "B4", "B8"]


def _far_from_cell_edges(lon, lat, metres):
    dlon, dlat = metres / 78_600, metres / 111_000
    fx, fy = ((lon - 9.0) / CELL) % 1, ((lat - 45.0) / CELL) % 1
    return (fx * CELL > dlon) & ((1 - fx) * CELL > dlon) & (fy * CELL > dlat) & ((1 - fy) * CELL > dlat)


def test_bands_are_chosen_by_name_or_index_and_scaled(rasters):
    reflectance, _ = rasters
    plain = LocalSource([reflectance])
    chosen = LocalSource([reflectance], bands=["B4", "1"], scale=2e-4)
    level = DEFAULT_LADDER[1]
    grid = AreaOfInterest.parse(AOI).regions()[0].grids(DEFAULT_LADDER)[level.name]
    full, picked = plain.read(grid, level), chosen.read(grid, level)
    assert chosen.bands(level) == ["B4", "B2"] and list(picked.band.values) == ["B4", "B2"]
    valid = full.valid.values
    expected = np.minimum(full.image.values[[2, 0]].astype(int) * 2, 65535)
    np.testing.assert_array_equal(picked.image.values[:, valid], expected[:, valid])
    assert not picked.landcover.values.any()  # no land-cover raster given: no data


def test_bad_local_input_is_named(rasters, tmp_path):
    reflectance, _ = rasters
    with pytest.raises(ConfigError, match=r"image .*missing.tif does not exist"):
        LocalSource([tmp_path / "missing.tif"])
    with pytest.raises(ConfigError, match=r"band 9 is not in .*which has bands 1-4"):
        LocalSource([reflectance], bands=[9])
    with pytest.raises(ConfigError, match=r"band 'B11' is not in .*its bands are B2, B3, B4, B8"):
        LocalSource([reflectance], bands=["B11"])
    with pytest.raises(ConfigError, match="at least one image"):
        LocalSource([])
