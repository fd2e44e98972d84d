import numpy as np
import pytest

from terrasynth.evaluation.seams import (
    cut_positions,
    energy_ratio,
    gradient_profile,
    seam_scores,
    spectral_peak,
)


def test_gradient_profile_by_hand():
    canvas = np.array([[0.0, 1.0, 1.0, 4.0], [0.0, 3.0, 3.0, 3.0]])
    assert gradient_profile(canvas, "x").tolist() == [(1 + 9) / 2, 0.0, (9 + 0) / 2]
    assert gradient_profile(canvas, "y").tolist() == [(0 + 4 + 4 + 1) / 4]


def test_cut_positions_index_the_step_before_each_cut():
    # windows every 4 px starting at pixel 2: cuts at 2, 6, 10 -> steps 1, 5, 9
    assert cut_positions(12, 4, 2).tolist() == [1, 5, 9]
    assert cut_positions(8, 4, 0).tolist() == [3]


def test_energy_ratio_by_hand():
    profile = np.array([1.0, 1.0, 1.0, 5.0, 1.0, 1.0, 1.0, 5.0, 1.0])
    assert energy_ratio(profile, 4, 0) == pytest.approx(5.0)


def test_steps_at_the_window_stride_show_and_a_smooth_canvas_does_not():
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:256, 0:256] / 40.0
    smooth = np.sin(x) + np.cos(1.3 * y) + 0.05 * rng.standard_normal((256, 256))
    steps = np.kron(rng.uniform(-1, 1, (8, 8)), np.ones((32, 32)))
    clean, seamed = seam_scores(smooth, stride=32), seam_scores(smooth + steps, stride=32)
    for axis in ("x", "y"):
        assert clean[(axis, "energy_ratio")] == pytest.approx(1.0, abs=0.2)
        assert seamed[(axis, "energy_ratio")] > 10
        assert seamed[(axis, "spectral_peak")] > 10 * max(clean[(axis, "spectral_peak")], 1.0)


def test_spectral_peak_needs_two_periods():
    assert np.isnan(spectral_peak(np.ones(40), 32))
