import contextlib

import numpy as np
import pytest
import rasterio
from affine import Affine

from terrasynth.core import SourceError, canvas_rasters
from terrasynth.core.canvas_rasters import (
    RasterArray,
    TileRows,
    check_missing,
    filled_copy,
    open_raster,
    reflectance_scale,
    write_canvas,
)

CRS, TRANSFORM = "EPSG:32632", Affine(4.0, 0, 500_000.0, 0, -4.0, 5_100_000.0)


def _float_geotiff(path, values: np.ndarray) -> None:
    profile = {"driver": "GTiff", "width": values.shape[2], "height": values.shape[1], "count": values.shape[0],
               "dtype": "float32", "crs": CRS, "transform": TRANSFORM}  # fmt: skip
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(values.astype(np.float32))


@pytest.fixture
def writes(monkeypatch):
    """The (first, last + 1) rows of every window written to a GeoTIFF."""
    writes, write = [], RasterArray.__setitem__

    def record(self, key, value):
        writes.append((key[1].start, key[1].stop))
        write(self, key, value)

    monkeypatch.setattr(RasterArray, "__setitem__", record)
    return writes


def test_a_canvas_is_written_as_tiled_uint16_reflectance_in_whole_rows_of_tiles(
    tmp_path, writes, monkeypatch
):
    monkeypatch.setattr(canvas_rasters, "TILE", 16)
    image = np.random.default_rng(0).uniform(0.0, 0.5, (3, 40, 24)).astype(np.float32)
    write_canvas(image, tmp_path / "canvas.tif", CRS, TRANSFORM)
    assert writes == [(0, 40)]  # the canvas' last row ends it, so one write holds every row
    with rasterio.open(tmp_path / "canvas.tif") as canvas:
        assert canvas.dtypes == ("uint16",) * 3 and canvas.scales == (1e-4,) * 3
        assert canvas.block_shapes == [(16, 16)] * 3 and canvas.crs == CRS and canvas.transform == TRANSFORM
        assert np.abs(canvas.read().astype(np.int64) - np.round(image * 1e4)).max() <= 1


def test_rows_are_held_until_a_row_of_tiles_is_complete_and_refused_out_of_order(tmp_path, writes):
    _float_geotiff(tmp_path / "out.tif", np.zeros((1, 40, 8)))
    with rasterio.open(tmp_path / "out.tif", "r+") as dataset:
        target = TileRows(RasterArray(dataset), 16)
        target[:, 0:10, :] = np.ones((1, 10, 8))
        assert writes == []  # 10 rows: no whole row of 16-pixel tiles yet
        target[:, 10:20, :] = np.full((1, 10, 8), 2.0)
        assert writes == [(0, 16)]  # the first row of tiles; rows 16-19 are held
        assert np.array_equal(target[:, 9:17, 0:1].ravel(), [1, 2, 2, 2, 2, 2, 2, 0])
        with pytest.raises(ValueError, match="expected row 20, got 30"):
            target[:, 30:40, :] = np.ones((1, 10, 8))


def test_reflectance_is_read_with_the_files_scale_else_1e4_for_integers(tmp_path):
    profile = {"driver": "GTiff", "width": 2, "height": 2, "count": 2, "crs": CRS, "transform": TRANSFORM}
    for name, dtype, scales, expected in (("float", "float32", None, 1.0), ("plain", "uint16", None, 1e-4),
                                          ("scaled", "uint16", [2e-5, 2e-5], 2e-5)):  # fmt: skip
        with rasterio.open(tmp_path / f"{name}.tif", "w", dtype=dtype, **profile) as dst:
            if scales:
                dst.scales = scales
        with rasterio.open(tmp_path / f"{name}.tif") as dataset:
            assert reflectance_scale(dataset) == expected and reflectance_scale(dataset, 0.5) == 0.5


def test_a_file_that_is_not_a_geotiff_is_refused_in_one_line(tmp_path):
    (tmp_path / "notes.tif").write_text("not a raster")
    with pytest.raises(
        SourceError, match=r"notes\.tif is not a GeoTIFF that can be read \(.*\): give a GeoTIFF"
    ):
        open_raster(tmp_path / "notes.tif")


def test_a_missing_pixel_is_filled_from_its_nearest_valid_neighbour(tmp_path):
    values = np.arange(2 * 12 * 12, dtype=np.float32).reshape(2, 12, 12)
    values[:, 5, 5] = np.nan
    _float_geotiff(tmp_path / "in.tif", values)
    with rasterio.open(tmp_path / "in.tif") as source, contextlib.ExitStack() as stack:
        assert check_missing(source) == 1
        filled = filled_copy(RasterArray(source), tmp_path / "filled.tif", stack)[:, :, :]
    neighbours = [values[:, 5 + dr, 5 + dc] for dr, dc in ((-1, 0), (1, 0), (0, -1), (0, 1))]
    assert any(np.array_equal(filled[:, 5, 5], neighbour) for neighbour in neighbours)
    mask = np.ones((12, 12), dtype=bool)
    mask[5, 5] = False
    assert np.array_equal(filled[:, mask], values[:, mask])


def test_an_input_with_too_many_or_too_wide_gaps_is_refused(tmp_path, monkeypatch):
    values = np.ones((1, 20, 20), dtype=np.float32)
    values[:, 2:8, 2:8] = np.nan  # 36 of 400 pixels: 9%
    _float_geotiff(tmp_path / "in.tif", values)
    monkeypatch.setattr(canvas_rasters, "FILL_REACH", 2)
    with rasterio.open(tmp_path / "in.tif") as source, contextlib.ExitStack() as stack:
        with pytest.raises(SourceError, match=r"36 of its 400 pixels \(9\.0%\) are NaN or nodata"):
            check_missing(source)
        with pytest.raises(SourceError, match="are more than 2 px from a valid one: fill that gap first"):
            filled_copy(RasterArray(source), tmp_path / "filled.tif", stack)
