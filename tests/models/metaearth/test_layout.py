import pytest
import torch

from terrasynth.core.errors import ConfigError
from terrasynth.models.metaearth.layout import take_layout

# Float32 blurs of values of order 1 carry about 1e-6 of rounding per sum: 1e-5 bounds it with room.
FLOAT32 = 1e-5


def images(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    return torch.rand((2, 3, 32, 32), generator=generator), torch.rand((2, 3, 32, 32), generator=generator)


def test_a_window_that_already_has_its_condition_layout_is_unchanged():
    _, condition = images()
    assert torch.allclose(take_layout(condition, condition, 4.0), condition, atol=FLOAT32)


def test_drift_at_the_conditions_scale_is_removed():
    image, condition = images()
    rows = torch.linspace(0, 1, 32)[:, None]
    drift = 0.3 + 0.2 * rows  # an offset and a ramp across the window: coarser than any condition pixel
    # a Gaussian reproduces a constant and (away from the reflected edges) a ramp exactly
    inner = (..., slice(8, 24), slice(8, 24))  # the part of a window a canvas keeps
    assert torch.allclose(
        take_layout(image + drift, condition, 4.0)[inner],
        take_layout(image, condition, 4.0)[inner],
        atol=FLOAT32,
    )


def test_detail_finer_than_the_condition_pixels_is_kept():
    _, condition = images()
    checkerboard = 0.1 * (torch.arange(32)[:, None] + torch.arange(32)[None, :]).remainder(2).float()
    kept = take_layout(condition + checkerboard, condition, 4.0) - condition
    detail = checkerboard - checkerboard.mean()
    # a Gaussian of sigma 1.4 px passes exp(-2 pi^2 sigma^2 f^2) = 6e-5 of a 2 px period: all of it is detail
    assert torch.allclose(kept, detail.expand_as(kept), atol=FLOAT32)


def test_a_window_too_small_for_the_low_pass_is_refused():
    image, condition = images()
    with pytest.raises(ConfigError, match=r"too small for the 35 px low-pass .* 16 times coarser"):
        take_layout(image, condition, 16.0)
