import pytest
import torch

from terrasynth.core.errors import ConfigError, WeightsError
from terrasynth.models.changen2.rsdit import RSDiT, build_rsdit, rsdit_config
from terrasynth.models.pretrained import public_config


def _randomize(model, seed=0):
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.copy_(torch.randn(parameter.shape, generator=generator) * 0.05)
    return model.eval()


@pytest.mark.parametrize(
    ("size", "overrides"),
    [
        ((256, 256), {}),
        ((72, 120), {}),  # token grid 18 x 30: windows padded to 24 x 32
        ((1024, 1024), {"patch_size": 16}),  # 64 x 64 tokens, the global block included
    ],
)
def test_forward_shapes(size, overrides):
    model = _randomize(build_rsdit("tiny", **overrides))
    with torch.no_grad():
        out = model(torch.randn(1, 3, *size), torch.tensor([700]), torch.rand(1, 1, *size))
    assert out.shape == (1, 3, *size) and torch.isfinite(out).all()


def test_learned_sigma_and_latent_mask():
    model = _randomize(build_rsdit("tiny", in_channels=4, learn_sigma=True, patch_size=2, mask_channels=7))
    latent, mask = torch.randn(1, 4, 32, 48), torch.rand(1, 7, 256, 384)  # mask at 8 x the latent size
    with torch.no_grad():
        assert model(latent, torch.tensor([10]), mask).shape == (1, 8, 32, 48)


def test_every_fourth_block_is_global():
    model = build_rsdit("tiny", depth=8)
    assert [block.window for block in model.blocks] == [8, 8, 8, 0, 8, 8, 8, 0]


def test_adaln_zero_starts_at_zero():
    model = build_rsdit("tiny").eval()
    with torch.no_grad():
        out = model(torch.randn(1, 3, 64, 64), torch.tensor([5]), torch.rand(1, 1, 64, 64))
    assert torch.count_nonzero(out) == 0


def test_the_mask_conditions_the_output_where_it_lies():
    model = _randomize(build_rsdit("tiny"))
    x, t = torch.randn(1, 3, 128, 128), torch.tensor([100])
    mask = torch.zeros(1, 1, 128, 128)
    changed = mask.clone()
    changed[..., :32, :32] = 1
    with torch.no_grad():
        out = model(x.expand(2, -1, -1, -1), t.expand(2), torch.cat([mask, changed]))
    difference = (out[0] - out[1]).abs().mean(dim=0)
    assert difference[:32, :32].mean() > 10 * difference[96:, 96:].mean()


def test_gradient_checkpointing_trains():
    model = _randomize(build_rsdit("tiny")).train()
    model.gradient_checkpointing = True
    out = model(torch.randn(1, 3, 32, 32), torch.tensor([1]), torch.rand(1, 1, 32, 32))
    out.square().mean().backward()
    assert model.blocks[0].mlp.dwconv.weight.grad.abs().sum() > 0


def test_bad_input_is_named():
    model = build_rsdit("tiny")
    with pytest.raises(ConfigError, match="multiples of 4"):
        model(torch.randn(1, 3, 30, 32), torch.tensor([1]), torch.rand(1, 1, 30, 32))
    with pytest.raises(ConfigError, match="unknown RS-DiT size"):
        rsdit_config("XXL")
    with pytest.raises(ConfigError, match="multiple of num_heads"):
        build_rsdit("tiny", num_heads=3)


def test_a_saved_rsdit_loads_with_the_same_config_weights_and_outputs(tmp_path):
    model = _randomize(build_rsdit("tiny", window_size=4, mask_channels=3, mask_stride=4))
    model.save_pretrained(tmp_path / "rsdit")
    assert sorted(p.name for p in (tmp_path / "rsdit").iterdir()) == [
        "config.json", "diffusion_pytorch_model.safetensors",
    ]  # fmt: skip
    loaded = RSDiT.from_pretrained(tmp_path / "rsdit")
    assert public_config(loaded) == public_config(model) and public_config(loaded)["mask_stride"] == 4
    state, loaded_state = model.state_dict(), loaded.state_dict()
    assert state.keys() == loaded_state.keys() and all(torch.equal(state[k], loaded_state[k]) for k in state)
    x, t, mask = torch.randn(1, 3, 32, 48), torch.tensor([300]), torch.rand(1, 3, 32, 48)
    with torch.no_grad():
        # the same weights, but the loaded tensors' memory alignment may pick other float32 kernels
        # (another summation order): equal to float32 rounding through the network, not bit for bit
        torch.testing.assert_close(loaded(x, t, mask), model(x, t, mask), rtol=1e-5, atol=1e-5)
    assert not loaded.training


def test_pickled_or_partial_rsdit_weights_are_refused_in_one_line(tmp_path):
    model = build_rsdit("tiny")
    model.save_pretrained(tmp_path / "rsdit")
    weights = tmp_path / "rsdit" / "diffusion_pytorch_model.safetensors"
    weights.unlink()
    torch.save(model.state_dict(), tmp_path / "rsdit" / "diffusion_pytorch_model.bin")
    with pytest.raises(
        WeightsError, match=r"only pickled weights \(diffusion_pytorch_model\.bin\), which are never"
    ):
        RSDiT.from_pretrained(tmp_path / "rsdit")
    from safetensors.torch import save_file

    state = model.state_dict()
    del state["final_layer.linear.bias"]
    save_file(state, weights)
    with pytest.raises(
        WeightsError, match=r"do not fit its config\.json \(missing keys final_layer\.linear\.bias\)"
    ):
        RSDiT.from_pretrained(tmp_path / "rsdit")


@pytest.mark.parametrize(("size", "millions"), [("S", 35), ("B", 140), ("L", 476), ("XL", 699)])
def test_parameter_counts(size, millions):
    with torch.device("meta"):
        model = build_rsdit(size)
    count = sum(p.numel() for p in model.parameters())
    assert abs(count / 1e6 - millions) / millions < 0.01
