import numpy as np
import pytest

from terrasynth.core.errors import CorpusError
from terrasynth.evaluation.image_sets import iter_tiles, open_image_set, select_rgb, to_uint8


def test_png_folders_give_their_level(image_sets):
    canvases = open_image_set(image_sets["real"])
    assert len(canvases) == 12
    assert {c.level for c in canvases} == {"16m", "4m"}
    rgb = canvases[0].rgb()
    assert rgb.shape == (3, 32, 32) and rgb.dtype == np.uint8
    seamless = open_image_set(image_sets["seamless"])
    assert [c.level for c in seamless] == ["all"]


def test_geotiff_level_from_its_pixel_size_and_rgb_from_band_names(image_sets):
    (canvas,) = open_image_set(image_sets["geotiff"])
    assert canvas.level == "16m" and canvas.shape == (64, 64)
    rgb = canvas.rgb()
    # written as B2, B3, B4 = blue, green, red reflectance of an image in [0, 1] x 0.3
    import rasterio

    with rasterio.open(image_sets["geotiff"] / "tile.tif") as source:
        red = source.read(3)
    assert np.array_equal(rgb[0], to_uint8(red))


def test_corpus_canvases_carry_land_cover(image_sets):
    canvases = {c.name: c for c in open_image_set(image_sets["corpus.zarr"])}
    assert set(canvases) == {"r00_utm32n/60m", "r00_utm32n/16m", "r00_utm32n/4m"}
    tiles = list(iter_tiles(canvases["r00_utm32n/16m"], 32))
    width = canvases["r00_utm32n/16m"].shape[1]
    assert len(tiles) == (75 // 32) * (width // 32)
    assert [t.landcover for t in tiles[:3]] == ["cropland", "cropland", "tree_cover"]
    assert all(t.level == "16m" for t in tiles)


def test_a_corpus_chunk_that_does_not_decode_is_named(image_sets, generators, tmp_path):
    import shutil

    damaged = shutil.copytree(image_sets["corpus.zarr"], tmp_path / "corpus.zarr")
    generators("corrupt").truncate_chunk(damaged, "r00_utm32n/16m", "image", 0)
    canvases = {c.name: c for c in open_image_set(damaged)}
    with pytest.raises(CorpusError, match=r"r00_utm32n/16m/image chunk c/0/0/0 does not decode"):
        canvases["r00_utm32n/16m"].rgb()


def test_tiles_skip_partial_edges(image_sets):
    (canvas,) = open_image_set(image_sets["seamed"])
    assert len(list(iter_tiles(canvas, 48))) == 4  # 128 px: two whole 48 px tiles per axis


def test_reflectance_to_8_bit():
    # the display mapping: 255 x (3 x reflectance) ** (1 / 1.6): 0.2 -> 185.3, 0.3 -> 238.7
    assert to_uint8(np.array([0, 2000, 3000, 6000], dtype=np.uint16)).tolist() == [0, 185, 239, 255]
    assert to_uint8(np.array([0.0, 0.2])).tolist() == [0, 185]
    assert to_uint8(np.array([7], dtype=np.uint8)).tolist() == [7]


def test_rgb_band_choice():
    assert select_rgb(["B2", "B3", "B4", "B8"], None) == [2, 1, 0]
    assert select_rgb(["a", "b", "c", "d"], None) == [0, 1, 2]
    assert select_rgb(["a", "b", "c", "d"], ["d", "2", 0]) == [3, 2, 0]
    with pytest.raises(CorpusError, match="band 'x' not found"):
        select_rgb(["a", "b", "c"], ["x", "a", "b"])


def test_a_folder_without_images_is_refused(tmp_path):
    with pytest.raises(CorpusError, match=r"holds no \.png"):
        open_image_set(tmp_path)


def _corpus_crop(corpus, level, rows, cols, path):
    """The corpus' ``level`` pixels ``[rows, cols]`` as a GeoTIFF at ``path`` (its grid and CRS)."""
    from terrasynth.core import open_corpus

    image = open_corpus(corpus)[f"r00_utm32n/{level}"].to_dataset()
    path.parent.mkdir(parents=True, exist_ok=True)
    image["image"].isel(y=rows, x=cols).rio.write_crs(image.rio.crs).rio.to_raster(path)
    return path


def test_a_real_set_is_cut_to_the_ground_under_generated_canvases(image_sets, tmp_path):
    from terrasynth.evaluation.image_sets import under

    corpus = image_sets["corpus.zarr"]
    real = {c.name: c for c in open_image_set(corpus)}
    _corpus_crop(corpus, "16m", slice(8, 40), slice(16, 48), tmp_path / "inside" / "16m.tif")
    (footprint,) = open_image_set(tmp_path / "inside")
    (part,) = under(list(real.values()), [footprint])  # the 16 m level only
    assert part.level == "16m" and part.shape == (32, 32)
    assert part.grid == footprint.grid  # the same ground, pixel for pixel
    whole = real["r00_utm32n/16m"]
    assert np.array_equal(part.rgb(), whole.read(slice(8, 40), slice(16, 48))[0])
    assert np.array_equal(
        part.read(slice(4, 8), slice(0, 32))[1], whole.read(slice(12, 16), slice(16, 48))[1]
    )

    # a canvas reaching 10 px past the real one's right edge: the part under both
    import rasterio

    width = whole.shape[1]
    path = _corpus_crop(
        corpus, "16m", slice(40, None), slice(width - 20, None), tmp_path / "edge" / "16m.tif"
    )
    with rasterio.open(path, "r+") as edge:
        edge.transform = edge.transform @ rasterio.Affine.translation(10, 0)
    (clipped,) = under([whole], open_image_set(path.parent))
    assert clipped.shape == (whole.shape[0] - 40, 10)
    assert np.array_equal(clipped.rgb(), whole.read(slice(40, whole.shape[0]), slice(width - 10, width))[0])
    assert under([whole], open_image_set(image_sets["real"])) == []  # PNGs have no ground
