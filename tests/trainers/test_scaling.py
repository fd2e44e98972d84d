import pytest
import torch

from terrasynth.core import ConfigError
from terrasynth.models.diffusion import ReflectanceScaling
from terrasynth.trainers.scaling import model_scaling
from terrasynth.trainers.settings import DiffusionTraining


def test_model_space_is_fitted_per_band_on_the_training_samples():
    # band 0 dark (visible-like), band 1 bright (near-infrared-like)
    samples = [
        {"image": torch.stack([torch.full((4, 4), 0.02 * i), torch.full((4, 4), 0.3 + 0.01 * i)])}
        for i in range(5)
    ]
    fitted = model_scaling(DiffusionTraining(), samples)
    assert fitted.low == pytest.approx((0.0, 0.3))  # 16 pixels of each sample: quantiles fall on values
    assert fitted.high == pytest.approx((0.08, 0.34))
    given = model_scaling(DiffusionTraining(reflectance_range=(0.0, 0.5)), samples)
    assert given == ReflectanceScaling(0.0, 0.5)


def test_pixels_outside_the_valid_mask_are_left_out_of_the_fit():
    # half of each tile is a nodata gap of zeros: counted, it would pull the low bound to 0
    valid = torch.zeros(4, 4, dtype=torch.bool)
    valid[:, 2:] = True
    image = torch.full((2, 4, 4), 0.2)
    image[:, ~valid] = 0.0
    samples = [{"image": image + 0.01 * i, "valid": valid} for i in range(5)]
    fitted = model_scaling(DiffusionTraining(), samples)
    assert fitted.low == pytest.approx((0.2, 0.2)) and fitted.high == pytest.approx((0.24, 0.24))
    with pytest.raises(ConfigError, match="a band has no valid pixel"):
        model_scaling(DiffusionTraining(), [{"image": image, "valid": torch.zeros(4, 4, dtype=torch.bool)}])
