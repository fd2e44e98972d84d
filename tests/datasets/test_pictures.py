from types import SimpleNamespace

import numpy as np
import torch

from terrasynth.datasets.pictures import ModelValueTiles, from_picture, to_picture


def _model(pixel_values: str):
    """What the picture mapping reads of a Changen2 model: four bands, RGB in bands 2, 1, 0."""
    return SimpleNamespace(channels=4, rgb_bands=(2, 1, 0), pixel_values=pixel_values)


def test_pictures_go_to_the_rgb_bands_and_read_back_as_they_were():
    rgb = np.random.default_rng(0).integers(0, 256, (3, 8, 8), dtype=np.uint8)
    for pixel_values in ("8bit", "reflectance"):
        model = _model(pixel_values)
        image = from_picture(rgb, model)
        assert image.shape == (4, 8, 8) and image.dtype == np.float32 and not image[3].any()
        shown = to_picture(torch.from_numpy(image), model)
        assert np.abs(shown.astype(int) - rgb.transpose(1, 2, 0)).max() <= 1  # up to rounding
    assert np.array_equal(from_picture(rgb, _model("8bit"))[[2, 1, 0]], rgb / np.float32(255))


def test_tiles_of_pictures_are_served_in_the_model_values():
    picture = torch.full((3, 4, 4), 255, dtype=torch.uint8)
    tiles = ModelValueTiles([{"image": picture, "mask": torch.ones(4, 4), "name": "a"}], _model("8bit"))
    sample = tiles[0]
    assert len(tiles) == 1 and sample["name"] == "a" and torch.equal(sample["mask"], torch.ones(4, 4))
    assert sample["image"].shape == (4, 4, 4) and torch.equal(sample["image"][:3], torch.ones(3, 4, 4))
