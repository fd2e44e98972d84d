import pytest
import torch

from terrasynth.evaluation.sliced_wasserstein import laplacian_patches, pyramid_scales, sliced_wasserstein


def test_pyramid_scales_go_down_to_16_pixels():
    assert pyramid_scales(128) == [128, 64, 32, 16]
    assert pyramid_scales(16) == [16]
    with pytest.raises(ValueError, match="too small"):
        pyramid_scales(8)


def test_patches_per_scale_are_7x7_descriptors():
    images = torch.rand(3, 3, 64, 48)
    patches = laplacian_patches(images, patches_per_image=10, generator=torch.Generator().manual_seed(0))
    assert sorted(patches) == [24, 48]  # levels of 48 and 24 px: the next would be under 16
    assert all(p.shape == (30, 3 * 49) for p in patches.values())


def test_patches_are_taken_from_the_laplacian_levels():
    flat = torch.full((1, 1, 32, 32), 0.5)
    patches = laplacian_patches(flat, patches_per_image=5)
    assert torch.allclose(patches[32], torch.zeros(5, 49), atol=1e-6)  # no detail in a flat image
    assert torch.allclose(patches[16], torch.full((5, 49), 0.5), atol=1e-6)  # the coarsest level is the image


def test_swd_of_a_set_with_itself_is_zero_and_grows_with_difference():
    generator = torch.Generator().manual_seed(0)
    smooth = torch.nn.functional.avg_pool2d(torch.rand(8, 3, 68, 68, generator=generator), 5, 1)
    noise = torch.rand(8, 3, 64, 64, generator=generator)
    a = laplacian_patches(smooth, generator=generator)[64]
    b = laplacian_patches(smooth.flip(-1), generator=generator)[64]
    c = laplacian_patches(noise, generator=generator)[64]
    assert sliced_wasserstein(a, a[torch.randperm(len(a))], bands=3) == pytest.approx(0, abs=1e-9)
    close = sliced_wasserstein(a, b, bands=3, generator=generator)
    far = sliced_wasserstein(a, c, bands=3, generator=generator)
    assert 0 < close < far


def test_swd_is_seeded():
    a, b = torch.rand(200, 49), torch.rand(300, 49) ** 2
    first = sliced_wasserstein(a, b, bands=1, generator=torch.Generator().manual_seed(3))
    again = sliced_wasserstein(a, b, bands=1, generator=torch.Generator().manual_seed(3))
    assert first == again
