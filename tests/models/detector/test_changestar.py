import pytest
import torch

from terrasynth.core.errors import ConfigError, WeightsError
from terrasynth.models.detector import ChangeDetector, read_state_dict
from terrasynth.models.pretrained import public_config

TINY = {"encoder": "resnet18", "decoder_channels": 8, "semantic_classes": 6}


@pytest.fixture(scope="module")
def detector():
    torch.manual_seed(0)
    return ChangeDetector(**TINY)


def test_outputs_at_input_size_for_any_size(detector):
    images = torch.rand(2, 2, 3, 45, 70)
    outputs = detector.eval()(images)
    assert outputs["change"].shape == (2, 1, 45, 70)
    assert outputs["semantic"].shape == (2, 2, 6, 45, 70)


@pytest.mark.parametrize("mode", ["eval", "train"])
def test_swapping_the_dates_gives_the_same_change_logits(detector, mode):
    detector.train(mode == "train")
    images = torch.rand(2, 2, 3, 64, 64)
    forward, backward = detector(images), detector(images.flip(1))
    assert torch.allclose(forward["change"], backward["change"], atol=1e-5)
    assert not torch.allclose(forward["change"], detector(images[:, [0, 0]])["change"], atol=1e-3)
    assert torch.allclose(forward["semantic"], backward["semantic"].flip(1), atol=1e-5)
    detector.eval()


def test_wrong_input_shape_and_config_are_refused(detector):
    with pytest.raises(ValueError, match=r"expected images \(B, 2, 3, H, W\)"):
        detector(torch.rand(1, 3, 64, 64))
    with pytest.raises(ConfigError, match="give one per band"):
        ChangeDetector(in_channels=4)
    with pytest.raises(ConfigError, match="head_layers >= 1"):
        ChangeDetector(head_layers=0)


def test_a_saved_detector_loads_with_the_same_config_weights_and_outputs(detector, tmp_path):
    detector.eval().save_pretrained(tmp_path / "model")
    loaded = ChangeDetector.from_pretrained(tmp_path / "model")
    assert public_config(loaded) == public_config(detector) and public_config(loaded)["semantic_classes"] == 6
    state, loaded_state = detector.state_dict(), loaded.state_dict()
    assert state.keys() == loaded_state.keys() and all(torch.equal(state[k], loaded_state[k]) for k in state)
    images = torch.rand(1, 2, 3, 32, 32)
    with torch.no_grad():
        for name, value in detector(images).items():
            # the same weights, but the loaded tensors' memory alignment may pick other float32
            # kernels (another summation order): equal to float32 rounding, not bit for bit
            torch.testing.assert_close(loaded(images)[name], value, rtol=1e-5, atol=1e-5)


def test_a_detector_saved_with_its_encoder_weights_loads_without_them(tmp_path):
    import timm
    from safetensors.torch import save_file

    save_file(timm.create_model("resnet18").state_dict(), tmp_path / "resnet18.safetensors")
    detector = ChangeDetector(
        encoder="resnet18", decoder_channels=8, encoder_weights=tmp_path / "resnet18.safetensors"
    )
    detector.save_pretrained(tmp_path / "model")
    (tmp_path / "resnet18.safetensors").unlink()
    loaded = ChangeDetector.from_pretrained(tmp_path / "model")
    assert "encoder_weights" not in loaded.config
    assert torch.equal(loaded.backbone.conv1.weight, detector.backbone.conv1.weight)


def test_old_detector_checkpoints_are_refused_in_one_line(tmp_path):
    detector = ChangeDetector(encoder="test_efficientnet", decoder_channels=8)
    (tmp_path / "detector.json").write_text("{}")  # the layout of save_detector, before save_pretrained
    with pytest.raises(WeightsError, match=r"older terrasynth layout.*train the model again"):
        ChangeDetector.from_pretrained(tmp_path)
    torch.save(detector.state_dict(), tmp_path / "detector.pth")
    with pytest.raises(WeightsError, match=r"detector\.pth is a pickled torch file, which is never loaded"):
        ChangeDetector.from_pretrained(tmp_path / "detector.pth")


def test_local_encoder_weights_are_loaded(tmp_path):
    import timm
    from safetensors.torch import save_file

    torch.manual_seed(1)
    source = timm.create_model("resnet18", pretrained=False)
    state = {k: v.contiguous() for k, v in source.state_dict().items()}
    save_file(state, tmp_path / "resnet18.safetensors")
    torch.save(state, tmp_path / "resnet18.pth")
    for name in ("resnet18.safetensors", "resnet18.pth"):
        detector = ChangeDetector(encoder="resnet18", decoder_channels=8, encoder_weights=tmp_path / name)
        assert torch.equal(
            detector.backbone.state_dict()["layer3.0.conv1.weight"], state["layer3.0.conv1.weight"]
        )
    assert set(read_state_dict(tmp_path / "resnet18.pth")) == set(state)


def test_wrong_encoder_weights_are_refused(tmp_path):
    from safetensors.torch import save_file

    save_file({"conv1.weight": torch.zeros(64, 3, 7, 7)}, tmp_path / "partial.safetensors")
    with pytest.raises(WeightsError, match="does not hold a resnet18 encoder"):
        ChangeDetector(encoder_weights=tmp_path / "partial.safetensors")
    with pytest.raises(WeightsError, match="does not exist"):
        ChangeDetector(encoder_weights=tmp_path / "missing.safetensors")


def test_truncated_encoder_weights_are_refused_naming_the_file(tmp_path, generators):
    from safetensors.torch import save_file

    save_file({"conv1.weight": torch.zeros(64, 3, 7, 7)}, tmp_path / "resnet18.safetensors")
    weights = generators("corrupt").truncate_file(tmp_path / "resnet18.safetensors")
    with pytest.raises(WeightsError, match=f"{weights} is damaged or truncated"):
        ChangeDetector(decoder_channels=8, encoder_weights=weights)


def test_an_unknown_encoder_is_refused_with_the_closest_names():
    with pytest.raises(
        ConfigError, match=r"unknown encoder 'resnt18': give a timm model name \(did you mean resnet18"
    ):
        ChangeDetector(encoder="resnt18")
