import pytest
import torch
import torch.nn.functional as F

from terrasynth.core.errors import ConfigError
from terrasynth.models.diffusion import DiffusionSampler
from terrasynth.models.metaearth import MetaEarthDenoiser, build_denoiser, resample_onto
from terrasynth.models.pretrained import public_config

from .conftest import micro_stage


def inputs(seed=0, batch=2, size=16, low=6):
    g = torch.Generator().manual_seed(seed)
    return (
        torch.randn(batch, 3, size, size, generator=g),
        torch.full((batch,), 500),
        torch.rand(batch, 3, low, low, generator=g) * 2 - 1,
    )


@torch.no_grad()
def test_every_conditioning_path_changes_the_prediction(upscaler, first_stage):
    x, t, lr = inputs()
    base = upscaler(x, t, gsd=4.0, condition=lr, condition_gsd=16.0)
    assert base.shape == x.shape
    assert not torch.allclose(
        base, upscaler(x, t, gsd=4.0, condition=-lr, condition_gsd=16.0)
    )  # the LR image
    assert not torch.allclose(
        base, upscaler(x, t, gsd=10.0, condition=lr, condition_gsd=16.0)
    )  # output resolution
    assert not torch.allclose(
        base, upscaler(x, t, gsd=4.0, condition=lr, condition_gsd=60.0)
    )  # input resolution
    landcover = torch.full((2, 16, 16), 80)
    forest = first_stage(x, t, gsd=16.0, landcover=torch.full((2, 16, 16), 10))
    assert not torch.allclose(forest, first_stage(x, t, gsd=16.0, landcover=landcover))  # land cover
    # no land cover is the no-data class; unknown codes count as no data too
    torch.testing.assert_close(
        first_stage(x, t, gsd=16.0), first_stage(x, t, gsd=16.0, landcover=torch.full((2, 16, 16), 255))
    )


def test_missing_or_unexpected_conditions_are_config_errors(upscaler, first_stage):
    x, t, lr = inputs()
    with pytest.raises(ConfigError, match="low-resolution"):
        upscaler(x, t, gsd=4.0)
    with pytest.raises(ConfigError, match="first stage"):
        first_stage(x, t, gsd=16.0, condition=lr)


def test_resampling_whole_map_is_bilinear_interpolation_and_boxes_are_absolute():
    features = torch.randn(1, 5, 7, 9)
    torch.testing.assert_close(
        resample_onto(features, None, (28, 36)),
        F.interpolate(features, size=(28, 36), mode="bilinear", align_corners=False),
    )
    # a window's box on the full map samples the same places as that window of the full grid
    full = resample_onto(features, None, (28, 36))
    box = torch.tensor([[1.0, 2.0, 1.0 + 7 / 28 * 12, 2.0 + 9 / 36 * 16]])
    window = resample_onto(features, box, (12, 16))
    torch.testing.assert_close(window, full[..., 4:16, 8:24])


def test_preset_sizes_counted_on_the_meta_device():
    counts = {}
    for preset in ("tiny", "paper"):
        with torch.device("meta"):
            model = build_denoiser(preset, channels=4, gsd=4.0, condition_gsd=16.0)
        counts[preset] = sum(p.numel() for p in model.parameters())
    assert counts["tiny"] < 5e6
    assert 570e6 < counts["paper"] < 630e6  # MetaEarth's denoiser: about 600M


def test_gpu_presets_attend_only_at_32_pixels_or_less_of_their_256_pixel_windows():
    from diffusers.models.attention_processor import Attention

    for preset in ("base", "paper"):
        with torch.device("meta"):
            model = build_denoiser(preset, channels=4, gsd=4.0, condition_gsd=16.0, window=256)
        sizes = []

        def record(_, args, sizes=sizes):
            sizes.append(tuple(args[0].shape[-2:]))

        hooks = [
            module.register_forward_pre_hook(record)
            for module in model.modules()
            if isinstance(module, Attention)
        ]
        x = torch.empty(1, 4, 256, 256, device="meta")
        low = torch.empty(1, 4, 64, 64, device="meta")
        model(x, torch.zeros(1, dtype=torch.long, device="meta"), gsd=4.0, condition=low, condition_gsd=16.0)
        for hook in hooks:
            hook.remove()
        assert sizes and max(max(size) for size in sizes) <= 32, (preset, sorted(set(sizes)))


def test_saved_as_safetensors_with_a_config_naming_schedule_and_scaling(upscaler, tmp_path):
    upscaler.save_pretrained(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "config.json",
        "diffusion_pytorch_model.safetensors",
    ]
    loaded = MetaEarthDenoiser.from_pretrained(tmp_path)
    assert loaded.config.schedule == {
        "kind": "scaled_linear", "beta_start": 0.0015, "beta_end": 0.0155, "num_train_timesteps": 1000,
        "prediction_type": "epsilon",
    }  # fmt: skip
    assert loaded.schedule == upscaler.schedule and loaded.scaling == upscaler.scaling
    assert loaded.config.condition_gsd == 16.0 and loaded.config.window == 16
    for a, b in zip(upscaler.state_dict().values(), loaded.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    assert public_config(loaded) == public_config(upscaler)
    x, low = torch.randn(1, 3, 32, 32), torch.randn(1, 3, 8, 8)
    with torch.no_grad():
        expected = upscaler.eval()(x, torch.tensor([10]), gsd=4.0, condition=low, condition_gsd=16.0)
        # the same weights, but the loaded tensors' memory alignment may pick other float32 kernels
        # (another summation order): equal to float32 rounding through the network, not bit for bit
        torch.testing.assert_close(
            loaded(x, torch.tensor([10]), gsd=4.0, condition=low, condition_gsd=16.0), expected,
            rtol=1e-5, atol=1e-5,
        )  # fmt: skip


@torch.no_grad()
@pytest.mark.parametrize("prediction_type", ["sample", "v_prediction", "epsilon"])
def test_a_residual_model_that_outputs_zero_samples_the_bicubic_upsampling(prediction_type):
    schedule = {"prediction_type": prediction_type}
    model = micro_stage(gsd=4.0, condition_gsd=16.0, residual=True, schedule=schedule)
    torch.nn.init.zeros_(model.unet.conv_out.weight)
    torch.nn.init.zeros_(model.unet.conv_out.bias)
    x_T, t, low = inputs()
    upsampled = resample_onto(low, None, x_T.shape[-2:], mode="bicubic")
    sampler = DiffusionSampler.for_model(model, steps=5)
    result = sampler.sample(model, x_T, gsd=4.0, condition=low, condition_gsd=16.0)
    if prediction_type == "sample":  # x0 = 0 + upsampled at every step: DDIM lands on it
        torch.testing.assert_close(result, upsampled.clamp(-1, 1))
    else:  # the network still sees x_t minus the upsampled image, in residual terms
        a = model.schedule.alphas_cumprod[t].view(-1, 1, 1, 1)
        prediction = model(x_T, t, gsd=4.0, condition=low, condition_gsd=16.0)
        expected = -(1 - a).sqrt() * upsampled if prediction_type == "v_prediction" else 0 * upsampled
        torch.testing.assert_close(prediction, expected)


def test_a_model_of_several_level_pairs_records_them_coarse_to_fine():
    model = micro_stage(gsd=4.0, condition_gsd=16.0, pairs=[[16, 60], [4, 16]])
    assert model.pairs == [(16.0, 60.0), (4.0, 16.0)]
    assert micro_stage(gsd=4.0, condition_gsd=16.0).pairs == [(4.0, 16.0)]
    with pytest.raises(ConfigError, match=r"must be gsd 4\.0"):
        micro_stage(gsd=4.0, condition_gsd=16.0, pairs=[[4, 16], [16, 60]])
    with pytest.raises(ConfigError, match="coarse to fine"):
        micro_stage(gsd=4.0, condition_gsd=16.0, pairs=[[4, 8], [4, 16]])
    with pytest.raises(ConfigError, match="first stage has none"):
        micro_stage(gsd=16.0, condition_gsd=None, residual=True)
