import pytest
import torch
from diffusers import AutoencoderKL

from terrasynth.core.errors import ConfigError, WeightsError
from terrasynth.models.changen2 import Changen2Model, MaskEncoding, build_changen2, build_rsdit
from terrasynth.models.changen2.rsdit_blocks import RSDiTBlock
from terrasynth.models.diffusion import epsilon_loss
from terrasynth.models.pretrained import public_config

LANDCOVER = MaskEncoding.for_kind("landcover")


def _randomize(model, seed=0):
    """Random weights everywhere (adaLN-Zero would make a fresh model predict zeros)."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for parameter in model.rsdit.parameters():
            parameter.copy_(torch.randn(parameter.shape, generator=generator) * 0.05)
    return model.eval()


def _batch(make_samples, size=32, count=2, channels=4):
    samples = [make_samples.MaskedTiles(count, size, channels)[i] for i in range(count)]
    return torch.stack([s["image"] for s in samples]), torch.stack([s["landcover"] for s in samples])


def test_tiny_model_overfits_one_batch_on_the_cpu_in_seconds(make_samples, learn_by_heart):
    torch.manual_seed(0)
    model = build_changen2("tiny", LANDCOVER, 4, tile_size=32)
    image, landcover = _batch(make_samples)
    x0, condition = model.to_latent(image), LANDCOVER.encode(landcover)
    optimizer = torch.optim.Adam(model.rsdit.parameters(), lr=3e-3)

    def loss():  # the same timesteps and noise every time: one fixed batch to learn by heart
        generator = torch.Generator().manual_seed(1)
        return epsilon_loss(model, x0, model.schedule, generator=generator, mask=condition)

    first, last = learn_by_heart(loss, optimizer, 40)
    assert last < first / 20


def _same_state(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    first, second = a.state_dict(), b.state_dict()
    return first.keys() == second.keys() and all(torch.equal(first[k], second[k]) for k in first)


def test_saved_model_loads_with_its_settings_and_weights(tmp_path):
    model = _randomize(
        build_changen2("tiny", LANDCOVER, 4, bands=("B2", "B3", "B4", "B8"), gsd=4.0, tile_size=64)
    )
    loaded = Changen2Model.from_pretrained(model.save_pretrained(tmp_path / "model"))
    assert sorted(p.name for p in (tmp_path / "model").iterdir()) == ["model_index.json", "rsdit"]
    assert public_config(loaded) == public_config(model) and loaded.bands == ("B2", "B3", "B4", "B8")
    assert public_config(loaded.rsdit) == public_config(model.rsdit) and _same_state(loaded, model)
    assert loaded.encoding == model.encoding and loaded.schedule == model.schedule and not loaded.training
    x, mask = torch.randn(1, 4, 32, 48), LANDCOVER.encode(torch.full((1, 32, 48), 30))
    with torch.no_grad():
        # the same weights, but the loaded tensors' memory alignment may pick other float32 kernels
        # (another summation order): equal to float32 rounding through the network, not bit for bit
        torch.testing.assert_close(
            loaded(x, torch.tensor([500]), mask=mask),
            model(x, torch.tensor([500]), mask=mask),
            rtol=1e-5,
            atol=1e-5,
        )


def test_a_model_folder_loads_beside_its_training_record_and_is_no_run_folder_without_its_index(tmp_path):
    build_changen2("tiny", LANDCOVER, 4, tile_size=32).save_pretrained(tmp_path / "model")
    (tmp_path / "model" / "training.json").write_text('{"trained_on": "corpus:world.zarr:4m", "epochs": 1}')
    assert Changen2Model.from_pretrained(tmp_path / "model").tile_size == 32
    (tmp_path / "model" / "model_index.json").unlink()
    with pytest.raises(WeightsError, match=r"model holds no model_index\.json: give a folder written by"):
        Changen2Model.from_pretrained(tmp_path / "model")


def test_a_run_folder_an_old_layout_or_another_model_is_refused_in_one_line(tmp_path):
    model = build_changen2("tiny", LANDCOVER, 4, tile_size=32)
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "training.json").write_text("{}")
    with pytest.raises(
        WeightsError, match=r"is a training run: use its model folder, .*run/model \(written once"
    ):
        Changen2Model.from_pretrained(tmp_path / "run")
    old = tmp_path / "old"  # config.json + rsdit.safetensors, before save_pretrained
    old.mkdir()
    (old / "config.json").write_text('{"latent": false}')
    (old / "rsdit.safetensors").write_bytes(b"")
    with pytest.raises(WeightsError, match=r"old.* older terrasynth layout.*train the model again"):
        Changen2Model.from_pretrained(old)
    model.rsdit.save_pretrained(tmp_path / "rsdit")
    with pytest.raises(WeightsError, match=r"rsdit holds a RSDiT, not a Changen2Model"):
        Changen2Model.from_pretrained(tmp_path / "rsdit")
    folder = model.save_pretrained(tmp_path / "model")
    weights = folder / "rsdit" / "diffusion_pytorch_model.safetensors"
    weights.write_bytes(weights.read_bytes()[:1000])
    with pytest.raises(
        WeightsError, match=r"cannot read the weights in .*model/rsdit \(damaged or truncated\?\)"
    ):
        Changen2Model.from_pretrained(folder)


def test_global_blocks_attend_over_the_whole_image_unless_windowed(tmp_path):
    torch.manual_seed(0)
    block = RSDiTBlock(16, 2, window=0).eval()
    tokens = torch.randn(1, 8, 12, 16)
    with torch.no_grad():
        windowed = block._attend(tokens, 4)
        assert torch.allclose(windowed[:, 4:8, 8:12], block._attend(tokens[:, 4:8, 8:12], None), atol=1e-6)
        assert torch.equal(block._attend(tokens[:, :4, :4], 4), block._attend(tokens[:, :4, :4], None))
    # trained on 32 px, drawing 128 px: a change in one corner reaches the far corner only through
    # the global block (the window blocks and the convolutions reach a few tokens each)
    model = _randomize(build_changen2("tiny", LANDCOVER, 4, tile_size=32))
    assert model.global_window is None
    x, mask = torch.randn(1, 4, 128, 128), LANDCOVER.encode(torch.full((1, 128, 128), 30))
    far = x.clone()
    far[..., -16:, -16:] += 1.0
    t = torch.tensor([500])
    with torch.no_grad():
        assert (model(x, t, mask=mask) - model(far, t, mask=mask))[..., :16, :16].abs().max() > 1e-4
        windowed = Changen2Model.from_pretrained(model.save_pretrained(tmp_path / "windowed"))
        windowed.global_window = 8  # tokens of 4 px: 32 px windows
        near = (windowed(x, t, mask=mask) - windowed(far, t, mask=mask))[..., :16, :16]
        assert near.abs().max() == 0
    assert Changen2Model.from_pretrained(windowed.save_pretrained(tmp_path / "again")).global_window == 8
    with pytest.raises(ConfigError, match="global_window"):
        build_changen2("tiny", LANDCOVER, 4, global_window=0)


def test_latent_model_with_a_local_autoencoder(tmp_path, make_samples):
    torch.manual_seed(0)
    AutoencoderKL(
        in_channels=4, out_channels=4, latent_channels=4, block_out_channels=(8, 8), norm_num_groups=4,
        down_block_types=("DownEncoderBlock2D",) * 2, up_block_types=("UpDecoderBlock2D",) * 2,
    ).save_pretrained(tmp_path / "vae")  # fmt: skip
    autoencoder = AutoencoderKL.from_pretrained(
        tmp_path / "vae", local_files_only=True, low_cpu_mem_usage=False
    )
    model = _randomize(build_changen2("tiny", LANDCOVER, 4, autoencoder=autoencoder, tile_size=32))
    assert model.latent_factor == 2 and model.size_multiple == 8 and model.latent_shape(32, 48) == (4, 16, 24)
    image, landcover = _batch(make_samples)
    x0 = model.to_latent(image)
    assert x0.shape == (2, 4, 16, 16)
    loss = epsilon_loss(model, x0, model.schedule, mask=LANDCOVER.encode(landcover))
    assert torch.isfinite(loss)
    assert model.from_latent(x0).shape == image.shape
    loaded = Changen2Model.from_pretrained(model.save_pretrained(tmp_path / "model"))
    assert loaded.autoencoder is not None and (tmp_path / "model" / "autoencoder" / "config.json").exists()
    assert public_config(loaded) == public_config(model) and _same_state(loaded, model)
    assert public_config(loaded)["autoencoder"] == ["diffusers", "AutoencoderKL"]
    with torch.no_grad():  # float32 rounding, as above: the two decoders' weights lie at other offsets
        torch.testing.assert_close(loaded.from_latent(x0), model.from_latent(x0), rtol=1e-5, atol=1e-5)
    with pytest.raises(ConfigError, match="takes 4 bands"):
        build_changen2("tiny", LANDCOVER, 3, autoencoder=autoencoder)
    with pytest.raises(ConfigError, match="multiple of 8"):
        model.check_size(36, 32)


def test_a_pixel_space_model_embeds_the_mask_at_its_token_grid():
    # at the released model's 1/8, every 4 px token would see the mask of an 8 px cell
    model = build_changen2("tiny", LANDCOVER, 4, tile_size=32)
    assert model.rsdit.config.mask_stride == model.rsdit.config.patch_size == 4
    mask = LANDCOVER.encode(torch.full((1, 32, 48), 30))
    assert model.rsdit.mask_embed(mask).shape[-2:] == (8, 12)
    assert build_rsdit("S").config.mask_stride == 8  # torchange's layout and weights
