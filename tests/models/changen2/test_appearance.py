import pytest
import torch

from terrasynth.core.errors import ConfigError
from terrasynth.models.changen2 import DateAppearance


def _image():
    return 0.05 + 0.1 * torch.rand(3, 4, 32, 32, generator=torch.Generator().manual_seed(0))


def test_each_image_gets_its_own_gain_offset_noise_and_shift():
    image = _image()
    varied = DateAppearance()(image, torch.Generator().manual_seed(1))
    assert varied.shape == image.shape
    difference = (varied - image).abs().mean(dim=(1, 2, 3))
    assert (difference > 1e-3).all()  # every image of the batch changed
    again = DateAppearance()(image, torch.Generator().manual_seed(1))
    assert torch.equal(varied, again)  # the same generator state, the same draw


def test_a_shift_alone_translates_by_a_fraction_of_a_pixel():
    # a horizontal ramp shifted by s pixels changes by s times its slope inside the image
    ramp = torch.arange(32.0).expand(1, 1, 32, 32) * 0.01
    only_shift = DateAppearance(gain=0, offset=0, noise=0, shift=0.5)
    moved = only_shift(ramp, torch.Generator().manual_seed(2))
    step = (ramp - moved)[..., 4:-4, 4:-4]
    # float32 bilinear sampling: the offset is constant to about 1e-6 of a 0.3 reflectance ramp
    torch.testing.assert_close(step, step.mean().expand_as(step), rtol=0, atol=1e-5)
    assert 0 < step.mean().abs() <= 0.5 * 0.01 + 1e-6


def test_none_changes_nothing_and_bad_settings_are_refused():
    image = _image()
    assert torch.equal(DateAppearance.none()(image, torch.Generator().manual_seed(0)), image)
    with pytest.raises(ConfigError, match="noise"):
        DateAppearance(noise=-1)


def test_series_keep_their_first_date_and_vary_the_others_by_series_number():
    from terrasynth.models.changen2 import vary_dates

    series = _image()[:2].unsqueeze(1).expand(2, 3, 4, 32, 32)  # two series of three equal dates
    varied = vary_dates(series, DateAppearance(), seed=5, numbers=range(7, 9))
    assert torch.equal(varied[:, 0], series[:, 0]) and not torch.equal(varied[:, 1:], series[:, 1:])
    alone = vary_dates(series[1:], DateAppearance(), seed=5, numbers=range(8, 9))
    assert torch.equal(alone[0], varied[1])  # series 8 draws the same in any grouping
