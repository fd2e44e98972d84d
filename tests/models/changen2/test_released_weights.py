"""Reading released Changen2 RS-DiT files: DiT-style checkpoints with their argparse.Namespace, the
EMA copy chosen and named, the B/2 shapes of the released xView2 and OEM weights, and hostile
files refused."""

import pytest
import torch

from terrasynth.core.errors import WeightsError
from terrasynth.models.changen2 import MaskEncoding
from terrasynth.models.changen2.rsdit import build_rsdit
from terrasynth.models.changen2.rsdit_weights import read_rsdit
from terrasynth.models.pretrained import public_config


@pytest.fixture(scope="module")
def released(generators):
    return generators("released_changen2")


def test_a_dit_checkpoint_with_its_training_arguments_gives_the_ema_weights_and_says_so(released, tmp_path):
    ema = released.random_rsdit(seed=1)
    path = released.write_dit_checkpoint(tmp_path / "checkpoint.pt", ema.state_dict())
    model, copy = read_rsdit(path)
    assert copy == "ema (also holds model)"
    torch.testing.assert_close(model.final_layer.linear.weight, ema.final_layer.linear.weight)
    raw_and_ema = {f"model.{k}": v + 1 for k, v in ema.state_dict().items()}
    raw_and_ema |= {f"ema.{k}": v for k, v in ema.state_dict().items()}
    model, copy = read_rsdit(released.write_safetensors(tmp_path / "both.safetensors", raw_and_ema))
    assert copy == "ema (also holds model)"
    torch.testing.assert_close(model.final_layer.linear.weight, ema.final_layer.linear.weight)


@pytest.mark.parametrize(("masks", "channels", "fmt"), [("xview2", 1, "one-hot"), ("oem", 8, "one-hot")])
def test_b2_checkpoints_of_the_released_shapes_convert_to_our_rsdit(released, tmp_path, masks, channels, fmt):
    state = released.broadcast_state(masks)
    path = tmp_path / f"Changen2_RSDiT-B-2-{masks}-256.pth"
    torch.save(state, path)  # a plain state dict, as torchange's weights would be published
    assert path.stat().st_size < 2_000_000
    model, copy = read_rsdit(path)
    assert copy == "weights"
    with torch.device("meta"):
        size_b = build_rsdit("B", mask_channels=channels)  # 4 latent channels, learned sigma
    assert public_config(model) == public_config(size_b)
    assert sum(p.numel() for p in model.parameters()) == sum(v.numel() for v in state.values())
    assert MaskEncoding.released(masks, channels).channels == channels
    assert MaskEncoding.released(masks, channels).format == fmt
    torch.testing.assert_close(model.blocks[11].mlp.dwconv.weight, state["blocks.11.mlp.dwconv.weight"])


def test_masks_are_encoded_as_the_released_embedding_takes_them():
    codes = torch.tensor([[[0, 1, 8, 3]]])
    assert MaskEncoding.released("oem", 1).encode(codes).tolist() == [[[[0.0, 1.0, 8.0, 3.0]]]]
    one_hot = MaskEncoding.released("oem", 8).encode(codes)
    assert one_hot.shape == (1, 8, 1, 4) and one_hot[0, :, 0, 2].tolist() == [0] * 7 + [1]
    assert MaskEncoding.released("xview2", 1).encode(torch.tensor([[[0, 1]]])).tolist() == [[[[0.0, 1.0]]]]
    with pytest.raises(Exception, match="takes 3 channels, but oem masks give 1 or 8"):
        MaskEncoding.released("oem", 3)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("code.pth", r"refusing to unpickle .*code\.pth: it asks for posix\.system"),
        ("truncated.pth", r"cannot read weights from .*truncated\.pth \(damaged or truncated\?\)"),
        (
            "truncated.safetensors",
            r"cannot read weights from .*truncated\.safetensors \(damaged or truncated\?\)",
        ),
        ("shapes.pth", r"shapes\.pth does not fit an RS-DiT .*blocks\.1\.attn\.qkv\.weight"),
    ],
)
def test_hostile_files_are_refused_naming_the_file_and_the_fault(released, tmp_path, name, message, capfd):
    paths = released.write_hostile(tmp_path, released.random_rsdit().state_dict())
    with pytest.raises(WeightsError, match=message) as refused:
        read_rsdit(paths[name])
    assert "\n" not in str(refused.value)
    assert "this pickle ran code" not in capfd.readouterr().out
