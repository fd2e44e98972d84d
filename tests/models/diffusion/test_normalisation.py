import json

import numpy as np
import pytest
import torch

from terrasynth.core.errors import ConfigError
from terrasynth.models.diffusion import ReflectanceScaling


def test_one_range_for_all_bands_round_trips_and_clips():
    scaling = ReflectanceScaling(0.0, 0.5)
    reflectance = torch.tensor([0.0, 0.25, 0.5, 0.9])
    torch.testing.assert_close(scaling.to_model(reflectance), torch.tensor([-1.0, 0.0, 1.0, 1.0]))
    torch.testing.assert_close(scaling.to_reflectance(scaling.to_model(reflectance[:3])), reflectance[:3])
    assert ReflectanceScaling.from_dict(scaling.to_dict()) == scaling


@pytest.mark.parametrize("shape", [(2, 4, 3), (5, 2, 4, 3)])
def test_per_band_bounds_apply_along_the_band_axis(shape):
    scaling = ReflectanceScaling((0.0, 0.1), (0.2, 0.5))
    image = np.zeros(shape, dtype=np.float32)
    image[..., 0, :, :], image[..., 1, :, :] = 0.1, 0.3  # the middle of each band's range
    for array in (image, torch.from_numpy(image)):
        model = scaling.to_model(array)
        assert type(model) is type(array) and model.dtype == array.dtype
        np.testing.assert_allclose(np.asarray(model), 0.0, atol=1e-6)
        np.testing.assert_allclose(np.asarray(scaling.to_reflectance(model)), image, atol=1e-6)


def test_fit_takes_each_bands_quantiles_and_survives_json():
    rng = np.random.default_rng(0)
    images = np.stack([rng.uniform(0.0, 0.2, (8, 16, 16)), rng.uniform(0.1, 0.6, (8, 16, 16))], axis=1)
    images[0, 1, 0, 0] = 5.0  # a cloud: beyond the top quantile, clipped
    scaling = ReflectanceScaling.fit(images)
    assert scaling.low == pytest.approx((0.001, 0.1025), abs=2e-3)
    assert scaling.high == pytest.approx((0.199, 0.5975), abs=2e-3)
    assert ReflectanceScaling.from_dict(json.loads(json.dumps(scaling.to_dict()))) == scaling


def test_constant_band_still_gets_a_range():
    scaling = ReflectanceScaling.fit(np.full((1, 1, 4, 4), 0.3))
    assert scaling.high[0] > scaling.low[0]


@pytest.mark.parametrize(
    ("low", "high", "message"), [(0.5, 0.5, "low < high"), ((0.0, 0.0), (0.1,), "as many low as high")]
)
def test_bad_bounds_are_refused(low, high, message):
    with pytest.raises(ConfigError, match=message):
        ReflectanceScaling(low, high)
