import numpy as np

from terrasynth.core import BRIGHTNESS, from_display, to_display


def test_display_values_worked_by_hand():
    # 255 x (3 r) ** 0.625, rounded: r = 0.05 -> 255 x exp(0.625 ln 0.15) = 77.91; 1/3 and above -> 255
    assert to_display(np.array([0.0, 0.05, 1 / 3, 0.5, -0.1])).tolist() == [0, 78, 255, 255, 0]
    assert to_display(np.zeros((2, 3, 4))).shape == (2, 3, 4)


def test_inverse_recovers_every_display_value():
    values = np.arange(256, dtype=np.uint8)
    reflectance = from_display(values)
    assert reflectance.dtype == np.float32 and reflectance[-1] == np.float32(1 / BRIGHTNESS)
    assert np.array_equal(to_display(reflectance), values)
    assert np.all(np.diff(reflectance) > 0)
