"""A folder of unlabelled pictures and GeoTIFFs as tiles with pseudo-masks."""

import numpy as np
import pytest
import rasterio
import torch
from PIL import Image

from terrasynth.core import ConfigError, to_display
from terrasynth.datasets import ImageFolderTiles
from terrasynth.models.changen2 import MaskEncoding, build_changen2


@pytest.fixture(scope="module")
def model():
    return build_changen2("tiny", MaskEncoding.for_kind("pseudo", pseudo_classes=4), 3, tile_size=16)


@pytest.fixture
def folder(tmp_path):
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (40, 50, 3), dtype=np.uint8)).save(tmp_path / "a.png")
    profile = {"driver": "GTiff", "width": 32, "height": 16, "count": 3, "dtype": "uint16", "crs": "EPSG:32632",
               "transform": rasterio.Affine(4, 0, 500_000, 0, -4, 5_000_000)}  # fmt: skip
    with rasterio.open(tmp_path / "b.tif", "w", **profile) as tif:
        tif.write(np.full((3, 16, 32), 1200, np.uint16))
    (tmp_path / "notes.txt").write_text("not an image")
    return tmp_path


def test_images_are_cut_into_whole_tiles_row_major(folder, model):
    tiles = ImageFolderTiles(folder, 16, model, seed=3)
    names = [tiles[i]["name"] for i in range(len(tiles))]
    assert names == [f"a_r{r}_c{c}" for r in (0, 16) for c in (0, 16, 32)] + ["b_r0_c0", "b_r0_c16"]
    sample = tiles[6]
    assert sample["image"].dtype == torch.float32 and sample["image"].shape == (3, 16, 16)
    assert torch.allclose(sample["image"], torch.full((3, 16, 16), 0.12))  # uint16 reflectance x 1e-4
    assert sample["mask"].dtype == torch.int64 and sample["mask"].max() < 4


def test_pictures_read_back_as_displayed_and_masks_repeat_with_the_seed(folder, model):
    tiles = ImageFolderTiles(folder, 16, model, seed=3)
    picture = np.asarray(Image.open(folder / "a.png"))[16:32, 16:32]
    shown = to_display(tiles[4]["image"].numpy()[list(model.rgb_bands)].transpose(1, 2, 0))
    assert np.abs(shown.astype(int) - picture).max() <= 1
    again = ImageFolderTiles(folder, 16, model, seed=3)
    assert torch.equal(tiles[4]["mask"], again[4]["mask"])


def test_a_folder_without_usable_images_is_named(tmp_path, model):
    Image.new("RGB", (8, 8)).save(tmp_path / "small.png")
    with pytest.raises(ConfigError, match="holds no PNG, JPEG or GeoTIFF image of at least 16 x 16 px"):
        ImageFolderTiles(tmp_path, 16, model)
    Image.new("L", (16, 16)).save(tmp_path / "grey.tif")
    with pytest.raises(ConfigError, match=r"grey\.tif has 1 bands but the model draws 3"):
        ImageFolderTiles(tmp_path, 16, model)
