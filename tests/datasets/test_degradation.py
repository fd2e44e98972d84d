import math

import pytest
import torch

from terrasynth.datasets import BlurSettings, DegradationSettings, SecondOrderDegradation, degrade_condition
from terrasynth.datasets.degradation import KERNEL_TYPES, RESIZE_MODES, mixed_kernels, sinc_kernels


def _images(bands=4, size=48):
    y, x = torch.meshgrid(torch.linspace(0, 1, size), torch.linspace(0, 1, size), indexing="ij")
    return torch.stack([(x * (b + 1) + y) % 1 for b in range(bands)])[None].repeat(3, 1, 1, 1)


def _run(images, seed, scale=3.75, device="cpu"):
    generator = torch.Generator(device=device).manual_seed(seed)
    return SecondOrderDegradation()(images.to(device), scale, generator=generator)


def test_reproducible_from_the_seed():
    images = _images()
    out, params = _run(images, 7)
    again, params_again = _run(images, 7)
    other, params_other = _run(images, 8)
    assert torch.equal(out, again)
    assert params.keys() == params_again.keys() and all(
        torch.equal(params[k], params_again[k]) for k in params
    )
    assert not torch.equal(out, other) and not torch.equal(params["blur1_sigma"], params_other["blur1_sigma"])


def test_output_and_parameters():
    out, params = _run(_images(), 0)
    assert out.shape == (3, 4, 13, 13) and out.dtype == torch.float32  # 48 / 3.75 = 12.8 -> 13
    assert out.min() >= 0.0 and out.max() <= 1.0
    assert torch.equal((out * 255).round() / 255, out)  # quantised to 8-bit steps
    assert params["blur1_sigma"].shape == (3, 2) and params["jpeg1_quality"].shape == (3,)
    assert ((params["jpeg1_quality"] >= 30) & (params["jpeg2_quality"] <= 95)).all()
    assert ((params["blur2_sigma"] >= 0.2) & (params["blur2_sigma"] <= 1.5)).all()
    assert 0.15 <= float(params["resize1_scale"]) <= 1.5 and 0.3 <= float(params["resize2_scale"]) <= 1.2
    assert params["blur1_kernel_type"].max() < len(KERNEL_TYPES)
    assert int(params["final_resize_mode"]) < len(RESIZE_MODES) and int(params["final_order"]) in (0, 1)
    assert _run(_images(), 0, scale=4.0)[0].shape == (3, 4, 12, 12)


def test_colour_images_and_custom_size():
    generator = torch.Generator().manual_seed(0)
    out, _ = SecondOrderDegradation()(_images(bands=3), 4.0, generator=generator, out_size=(10, 11))
    assert out.shape == (3, 3, 10, 11)


def test_settings_switch_steps_off():
    no_blur = BlurSettings(prob=0.0)
    settings = DegradationSettings(blur1=no_blur, blur2=no_blur)
    _, params = SecondOrderDegradation(settings)(_images(), 2.0, generator=torch.Generator().manual_seed(0))
    assert not params["blur1_applied"].any() and not params["blur2_applied"].any()


def test_conditions_are_degraded_in_model_space_where_images_fill_the_range():
    # dark reflectance (0.02-0.15) stretched onto [-1, 1], as a model sees it; Real-ESRGAN's noise
    # and JPEG levels then mean what they mean on [0, 1] images and the content survives them
    reflectance = 0.02 + 0.13 * _images(size=64)
    model_space = (reflectance - 0.02) / 0.13 * 2 - 1
    clean = torch.nn.functional.avg_pool2d(model_space, 4)
    gsd = torch.tensor([4.0, 4.0, 16.0])

    def degrade(seed, condition_gsd=gsd * 4):
        return degrade_condition(
            model_space, gsd, condition_gsd, generator=torch.Generator().manual_seed(seed)
        )

    conditions = torch.stack(degrade(0))
    assert conditions.shape == (3, 4, 16, 16) and conditions.min() >= -1 and conditions.max() <= 1
    assert torch.corrcoef(torch.stack([conditions.flatten(), clean.flatten()]))[0, 1] > 0.6
    assert torch.equal(conditions, torch.stack(degrade(0))) and not torch.equal(
        conditions, torch.stack(degrade(1))
    )
    mixed = degrade(0, torch.tensor([16.0, 16.0, 60.0]))  # 64 px of 16 m are 17.07 px of 60 m
    assert [tuple(c.shape) for c in mixed] == [(4, 16, 16), (4, 16, 16), (4, 17, 17)]


def test_kernels():
    sizes = torch.tensor([7, 21])
    gauss = mixed_kernels(sizes, torch.tensor([0, 1]), torch.tensor([[1.0, 1.0], [3.0, 0.5]]),
                          torch.tensor([0.0, math.pi / 2]), torch.ones(2))  # fmt: skip
    assert torch.allclose(gauss.sum(dim=(1, 2)), torch.ones(2))
    assert (gauss[0, :7] == 0).all() and gauss[0, 10, 10] == gauss[0].max()  # 7 taps, centred
    # rotated by 90 degrees, the long axis (sigma 3) runs along the rows
    assert gauss[1, 10 + 3, 10] > gauss[1, 10, 10 + 3]
    sinc = sinc_kernels(torch.tensor([21]), torch.tensor([math.pi / 2]))
    assert torch.allclose(sinc.sum(), torch.tensor(1.0)) and sinc[0, 10, 10] == sinc[0].max()


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_runs_and_repeats_on_the_gpu():
    out, params = _run(_images(), 5, device="cuda")
    again, _ = _run(_images(), 5, device="cuda")
    assert out.is_cuda and params["blur1_sigma"].is_cuda and torch.equal(out, again)
