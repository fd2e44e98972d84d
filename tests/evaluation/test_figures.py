import numpy as np
import torch
from PIL import Image

from terrasynth.evaluation.figures import canvas_figure, levels_figure, pairs_figure, reflectance_picture


def _png_size(path):
    with Image.open(path) as image:
        assert image.format == "PNG"
        return image.size


def test_pictures_show_bands_b4_b3_b2_as_red_green_blue():
    image = np.zeros((4, 2, 2))
    image[2] = 1000.0  # B4 (red), 0.1 reflectance
    picture = reflectance_picture(image)
    assert picture.shape == (2, 2, 3) and picture.dtype == np.uint8
    assert (picture[..., 0] > 0).all() and not picture[..., 1:].any()


def test_levels_figure_has_a_row_per_level_and_three_columns_where_generated(tmp_path):
    rng = np.random.default_rng(0)
    real = {60.0: rng.random((4, 2, 2)) * 1e3, 16.0: rng.random((4, 8, 8)) * 1e3}
    generated = {16.0: rng.random((4, 8, 8)) * 1e3}
    condition = rng.random((4, 2, 2)) * 0.1
    both = _png_size(levels_figure(real, generated, condition, tmp_path / "levels.png"))
    real_only = _png_size(levels_figure(real, {}, condition, tmp_path / "real.png"))
    one_level = _png_size(levels_figure({60.0: real[60.0]}, {}, condition, tmp_path / "one.png"))
    assert both[0] > 2 * real_only[0]  # real, generated and bicubic columns against real alone
    assert real_only[1] > 1.5 * one_level[1]  # a row per level


def test_canvas_and_pairs_figures_are_written(tmp_path):
    canvas = np.random.default_rng(0).random((4, 32, 32)) * 1e3
    assert _png_size(canvas_figure(canvas, tmp_path / "canvas.png", window=8))[0] > 100
    pair = {
        "image": torch.rand(2, 3, 16, 16, generator=torch.Generator().manual_seed(0)),
        "mask": torch.eye(16),
    }
    assert _png_size(pairs_figure([pair] * 5, tmp_path / "pairs.png", count=2))[0] > 100
    assert not list(tmp_path.glob(".*partial"))
