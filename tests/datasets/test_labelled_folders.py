"""Labelled single-date images in the xView2 and OpenEarthMap layouts, as tiles with their masks."""

import numpy as np
import pytest
import rasterio
from PIL import Image

from terrasynth.core.errors import CorpusError
from terrasynth.datasets import LabelledImageTiles


@pytest.fixture(scope="module")
def released(generators):
    return generators("released_changen2")


def test_xview2_tiles_are_pre_disaster_images_with_building_masks(released, tmp_path):
    split = released.write_xview2(tmp_path / "xview2" / "tier3", images=2, size=256)
    tiles = LabelledImageTiles(tmp_path / "xview2", "xview2", 128)
    assert len(tiles) == 2 * 4  # post-disaster images are left out
    sample = tiles[5]
    assert sample["name"] == "hurricane-test_00000001_pre_disaster_r0_c128"
    assert sample["image"].shape == (3, 128, 128) and sample["image"].dtype.is_floating_point is False
    target = np.asarray(Image.open(split / "targets" / "hurricane-test_00000001_pre_disaster_target.png"))
    assert np.array_equal(sample["mask"].numpy(), (target[:128, 128:] > 0).astype(np.int64))
    rgb = np.asarray(Image.open(split / "images" / "hurricane-test_00000001_pre_disaster.png"))
    assert np.array_equal(sample["image"].numpy(), rgb[:128, 128:].transpose(2, 0, 1))


def test_openearthmap_tiles_keep_the_eight_classes_and_read_other_values_as_unknown(released, tmp_path):
    root = released.write_oem(tmp_path / "OpenEarthMap", images=1, size=256)
    label = root / "aachen" / "labels" / "aachen_1.tif"
    with rasterio.open(label, "r+") as dataset:
        codes = dataset.read(1)
        codes[0, :4] = [0, 8, 9, 255]
        dataset.write(codes, 1)
    tiles = LabelledImageTiles(root, "oem", 256)
    mask = tiles[0]["mask"].numpy()
    assert len(tiles) == 1 and mask[0, :4].tolist() == [0, 8, 0, 0]
    assert set(np.unique(mask)) <= set(range(9)) and len(np.unique(mask)) > 3


def test_an_image_without_its_mask_is_named(released, tmp_path):
    split = released.write_xview2(tmp_path / "xview2", images=1, size=128)
    (split / "targets" / "hurricane-test_00000000_pre_disaster_target.png").unlink()
    with pytest.raises(CorpusError, match=r"pre_disaster\.png has no mask .*targets"):
        LabelledImageTiles(split, "xview2", 128)
    with pytest.raises(CorpusError, match="holds no oem image"):
        LabelledImageTiles(split, "oem", 128)
