"""Our RS-DiT against torchange's (the released Changen2 code), a test-only peer: same weights,
same outputs."""

import importlib.util
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from terrasynth.core.errors import WeightsError
from terrasynth.models.changen2.rsdit import build_rsdit
from terrasynth.models.changen2.rsdit_weights import read_rsdit


def _load_torchange_rsdit():
    """torchange's rsdit module, loaded from its file: the package's own ``__init__`` imports its
    whole training stack (Hugging Face ``datasets``, which the repository's ``datasets`` folder
    shadows whenever the repository root is on ``sys.path``), while rsdit.py needs only torch,
    timm and einops."""
    package = importlib.util.find_spec("torchange")
    assert package is not None, "torchange (a dev dependency) is not installed: run `uv sync`"
    path = Path(package.submodule_search_locations[0]) / "models" / "changen2" / "rsdit.py"
    spec = importlib.util.spec_from_file_location("torchange_rsdit", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


torchange_rsdit = _load_torchange_rsdit()


def _torchange_model(seed=0):
    model = torchange_rsdit.RSDiT(
        input_size=32, patch_size=4, in_channels=4, hidden_size=64, depth=4, num_heads=2, label_channels=1
    )
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for parameter in model.parameters():  # random everywhere, adaLN-Zero layers included
            parameter.copy_(torch.randn(parameter.shape, generator=generator) * 0.05)
    return model.eval()


@pytest.fixture(scope="module")
def peer():
    return _torchange_model()


@pytest.fixture(scope="module")
def checkpoint(peer, tmp_path_factory):
    """The peer's weights as a training checkpoint of the `ever` trainer behind DDP."""
    path = tmp_path_factory.mktemp("weights") / "rsdit.pth"
    state = {f"module.{name}": tensor for name, tensor in peer.state_dict().items()}
    torch.save({"model": state, "global_step": 1000}, path)
    return path


@pytest.mark.parametrize(
    ("size", "mask_size"),
    [((256, 256), (256, 256)), ((72, 136), (72, 136)), ((40, 24), (320, 192))],
    ids=["256", "non-square", "latent-like"],
)
def test_same_output_as_torchange(peer, checkpoint, size, mask_size):
    ours = read_rsdit(checkpoint, num_heads=2)[0]
    generator = torch.Generator().manual_seed(1)
    x = torch.randn(2, 4, *size, generator=generator)
    t = torch.tensor([17, 640])
    mask = (torch.rand(2, 1, *mask_size, generator=generator) > 0.5).float()
    with torch.no_grad():
        expected, actual = peer(x, t, mask), ours(x, t, mask)
    assert actual.shape == expected.shape == (2, 8, *size)
    assert expected.abs().mean() > 0.1
    torch.testing.assert_close(actual, expected, rtol=1e-4, atol=1e-5)


def test_torchange_safetensors_and_parameter_counts(peer, tmp_path):
    path = tmp_path / "rsdit.safetensors"
    save_file({name: t.contiguous() for name, t in peer.state_dict().items()}, path)
    ours = read_rsdit(path, num_heads=2)[0]
    assert sum(p.numel() for p in ours.parameters()) == sum(p.numel() for p in peer.parameters())
    with torch.device("meta"):
        for name in ("S", "XL"):
            theirs = torchange_rsdit.RSDiT_models[f"RSDiT-{name}/2"]()
            assert sum(p.numel() for p in build_rsdit(name).parameters()) == sum(
                p.numel() for p in theirs.parameters()
            )


def test_bad_weights_are_named(tmp_path):
    with pytest.raises(WeightsError, match="does not exist"):
        read_rsdit(tmp_path / "missing.pth")
    (tmp_path / "weights.onnx").write_bytes(b"x")
    with pytest.raises(WeightsError, match="unknown weights format"):
        read_rsdit(tmp_path / "weights.onnx")
    torch.save(
        {"model": {"x_embedder.proj.weight": torch.zeros(2)}, "note": object()}, tmp_path / "pickle.pth"
    )
    with pytest.raises(WeightsError, match=r"refusing to unpickle .* it asks for object,"):
        read_rsdit(tmp_path / "pickle.pth")
    odd = torchange_rsdit.RSDiT(input_size=8, patch_size=2, hidden_size=32, depth=2, num_heads=2)
    torch.save(odd.state_dict(), tmp_path / "odd.pth")
    with pytest.raises(WeightsError, match="pass num_heads"):
        read_rsdit(tmp_path / "odd.pth")
    with pytest.raises(WeightsError, match="does not fit"):
        read_rsdit(tmp_path / "odd.pth", num_heads=2, mask_channels=2)
