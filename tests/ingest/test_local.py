import numpy as np
import pytest
from make_rasters import CELL, HOLE, checkerboard, gradient, write_raster
from pyproj import Transformer

from terrasynth.core import DEFAULT_LADDER, AreaOfInterest, ConfigError, SourceError
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


def test_local_ingest_marks_pixels_outside_the_raster_or_nan_as_not_valid(tmp_path):
    # no nodata value: only the file's footprint and its NaN tell where the data is
    data = np.full((2, 100, 200), 0.1, dtype=np.float32)
    data[:, 40:60, 80:120] = np.nan
    data[1, 10:30, 10:40] = np.nan  # one band only
    path = write_raster(tmp_path / "east-half.tif", data, (9.01, 45.0, 9.02, 45.01))
    level = DEFAULT_LADDER[1]
    grid = AreaOfInterest.parse(AOI).regions()[0].grids(DEFAULT_LADDER)[level.name]
    ds = LocalSource([path], scale=1.0).read(grid, level)
    lon, lat = lonlat(grid)
    pixel = level.gsd / 78_000
    assert not ds.valid.values[lon < 9.01 - pixel].any()
    assert ds.valid.values[(lon > 9.0135) & (lon < 9.019) & (lat > 45.0068) & (lat < 45.0095)].all()
    in_nan = (lon > 9.014 + pixel) & (lon < 9.016 - pixel) & (lat > 45.004 + pixel) & (lat < 45.006 - pixel)
    one_band_nan = (
        (lon > 9.0105 + pixel) & (lon < 9.012 - pixel) & (lat > 45.007 + pixel) & (lat < 45.009 - pixel)
    )
    assert in_nan.any() and not ds.valid.values[in_nan].any()
    assert one_band_nan.any() and not ds.valid.values[one_band_nan].any()


def test_local_ingest_marks_a_band_holding_the_nodata_value_as_not_valid(tmp_path):
    data = np.full((2, 100, 200), 1000, dtype=np.uint16)
    data[1, 40:60, 80:120] = 7  # the nodata value in the second band only
    path = write_raster(tmp_path / "nodata.tif", data, nodata=7)
    level = DEFAULT_LADDER[1]
    grid = AreaOfInterest.parse(AOI).regions()[0].grids(DEFAULT_LADDER)[level.name]
    ds = LocalSource([path]).read(grid, level)
    lon, lat = lonlat(grid)
    pixel = level.gsd / 78_000
    inside = (lon > 9.008 + pixel) & (lon < 9.012 - pixel) & (lat > 45.004 + pixel) & (lat < 45.006 - pixel)
    assert inside.any() and not ds.valid.values[inside].any()
    assert ds.valid.values[(lon > 9.001) & (lon < 9.006) & (lat > 45.001) & (lat < 45.009)].all()


def test_a_one_pixel_raster_is_valid_only_under_its_pixel(tmp_path):
    path = write_raster(
        tmp_path / "one.tif", np.full((4, 1, 1), 1000, np.uint16), (9.01, 45.005, 9.0101, 45.0051)
    )
    level = DEFAULT_LADDER[2]
    grid = AreaOfInterest.parse(AOI).regions()[0].grids(DEFAULT_LADDER)[level.name]
    ds = LocalSource([path]).read(grid, level)
    assert 0 < ds.valid.values.sum() <= 12  # an 8 x 11 m pixel covers a few 4 m pixels
    assert (ds.image.values[:, ds.valid.values] == 1000).all()


def test_an_area_the_rasters_do_not_reach_is_refused_naming_both_extents(rasters):
    reflectance, landcover = rasters
    with pytest.raises(
        SourceError,
        match=r"10\.0000,45\.0000,10\.0100,45\.0100.*reflectance\.tif covers 9\.0000,45\.0000,9\.0200,45\.0100",
    ):
        LocalSource([reflectance]).check_area(AreaOfInterest.parse("10.0,45.0,10.01,45.01"))
    LocalSource([reflectance], landcover=landcover).check_area(AreaOfInterest.parse(AOI))


def test_a_file_that_is_not_a_raster_or_has_no_crs_is_named_with_the_fix(rasters, tmp_path):
    reflectance, _ = rasters
    (tmp_path / "notes.tif").write_text("not a tiff")
    with pytest.raises(
        SourceError, match=r"image .*notes\.tif is not a raster GDAL can read.*give a GeoTIFF"
    ):
        LocalSource([tmp_path / "notes.tif"])
    with pytest.raises(SourceError, match=r"land-cover raster .*notes\.tif is not a raster GDAL can read"):
        LocalSource([reflectance], landcover=tmp_path / "notes.tif")
    no_crs = write_raster(tmp_path / "no-crs.tif", np.ones((1, 4, 4), np.uint16), crs=None)
    with pytest.raises(
        SourceError, match=r"no-crs\.tif has no CRS: .*gdal_edit\.py -a_srs .*rio edit-info --crs"
    ):
        LocalSource([no_crs])
