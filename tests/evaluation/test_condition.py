import numpy as np
import pytest

from terrasynth.evaluation.condition import area_average, bicubic_upsample, condition_error


def test_bicubic_upsampling_passes_through_the_condition_at_its_pixel_centres():
    condition = np.random.default_rng(0).uniform(0.05, 0.3, (2, 8, 10)).astype(np.float32)
    # 60 m -> 20 m from the corner of condition pixel (1, 2): canvas pixels 1, 4, 7, ... sit on
    # condition pixel centres 1, 2, 3, ... rows down (2, 3, 4, ... columns across)
    canvas = bicubic_upsample(condition, 60.0, 20.0, (18, 21), corner=(1.0, 2.0))
    assert canvas.shape == (2, 18, 21) and canvas.dtype == np.float32
    np.testing.assert_allclose(canvas[:, 1::3, 1::3], condition[:, 1:7, 2:9], atol=1e-6)
    flat = bicubic_upsample(np.full((1, 3, 3), 0.2, np.float32), 16.0, 4.0, (12, 12))
    np.testing.assert_allclose(flat, 0.2, atol=1e-6)  # beyond the outer centres: edge values


def test_area_average_at_a_non_integer_ratio_weighs_pixels_by_overlap():
    # 16 m pixels onto 60 m ones: 15 fine pixels make 4 coarse ones; pixel 3 straddles two of them
    canvas = np.arange(15, dtype=np.float32)[None, None, :].repeat(2, axis=1)
    averaged, corner = area_average(canvas, 16.0, 60.0)
    assert averaged.shape == (1, 0, 4) and corner == (0, 0)  # two rows of 16 m do not cover 60 m
    canvas = np.broadcast_to(np.arange(15, dtype=np.float32), (1, 8, 15))
    averaged, _ = area_average(canvas, 16.0, 60.0)
    assert averaged.shape == (1, 2, 4)
    first = (0 + 1 + 2 + 3 * 0.75) * 16 / 60  # pixels 0-2 whole and three quarters of pixel 3
    assert averaged[0, 0, 0] == pytest.approx(first, rel=1e-6)
    assert averaged[0, 0].mean() == pytest.approx(canvas[0, 0].mean(), rel=1e-6)  # 15 px = 4 coarse ones


def test_a_canvas_made_of_its_condition_has_no_error_and_noise_on_it_has_some():
    rng = np.random.default_rng(0)
    condition = rng.uniform(0.05, 0.3, (4, 6, 5)).astype(np.float32)
    blocks = np.kron(condition, np.ones((1, 4, 4), np.float32))  # 16 m -> 4 m, every pixel copied
    assert condition_error(blocks, 4.0, condition, 16.0) == {"rmse": 0.0, "relative_rmse": 0.0}
    # from the second condition pixel on: the corner moves the comparison by whole pixels
    shifted = condition_error(blocks[:, 4:, 8:], 4.0, condition, 16.0, corner=(1.0, 2.0))
    assert shifted["rmse"] == pytest.approx(0.0, abs=1e-7)
    noisy = condition_error(
        blocks + rng.normal(0, 0.01, (1, 24, 20)).astype(np.float32), 4.0, condition, 16.0
    )
    assert 0 < noisy["rmse"] < 0.01 and noisy["relative_rmse"] == pytest.approx(
        noisy["rmse"] / np.sqrt(condition.var(axis=(1, 2)).mean()), rel=1e-6
    )
