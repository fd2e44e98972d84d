import pytest
import torch

from terrasynth.core.errors import ConfigError, WeightsError
from terrasynth.models.detector import ChangeDetector, DetectorConfig, read_state_dict

TINY = DetectorConfig(encoder="resnet18", decoder_channels=8, semantic_classes=6)


@pytest.fixture(scope="module")
def detector():
    torch.manual_seed(0)
    return ChangeDetector(TINY)


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
        DetectorConfig(in_channels=4)
    with pytest.raises(ConfigError, match="unknown detector settings"):
        DetectorConfig.from_dict({"encoder": "resnet18", "layers": 3})


def test_local_encoder_weights_are_loaded(tmp_path):
    import timm
    from safetensors.torch import save_file

    torch.manual_seed(1)
    source = timm.create_model("resnet18", pretrained=False)
    state = {k: v.contiguous() for k, v in source.state_dict().items()}
    save_file(state, tmp_path / "resnet18.safetensors")
    torch.save(state, tmp_path / "resnet18.pth")
    config = DetectorConfig(encoder="resnet18", decoder_channels=8)
    for name in ("resnet18.safetensors", "resnet18.pth"):
        detector = ChangeDetector(config, encoder_weights=tmp_path / name)
        assert torch.equal(
            detector.encoder.state_dict()["layer3.0.conv1.weight"], state["layer3.0.conv1.weight"]
        )
    assert set(read_state_dict(tmp_path / "resnet18.pth")) == set(state)


def test_wrong_encoder_weights_are_refused(tmp_path):
    from safetensors.torch import save_file

    save_file({"conv1.weight": torch.zeros(64, 3, 7, 7)}, tmp_path / "partial.safetensors")
    config = DetectorConfig(encoder="resnet18", decoder_channels=8)
    with pytest.raises(WeightsError, match="does not hold a resnet18 encoder"):
        ChangeDetector(config, encoder_weights=tmp_path / "partial.safetensors")
    with pytest.raises(WeightsError, match="does not exist"):
        ChangeDetector(config, encoder_weights=tmp_path / "missing.safetensors")


def test_truncated_encoder_weights_are_refused_naming_the_file(tmp_path, generators):
    from safetensors.torch import save_file

    save_file({"conv1.weight": torch.zeros(64, 3, 7, 7)}, tmp_path / "resnet18.safetensors")
    weights = generators("corrupt").truncate_file(tmp_path / "resnet18.safetensors")
    config = DetectorConfig(encoder="resnet18", decoder_channels=8)
    with pytest.raises(WeightsError, match=f"{weights} is damaged or truncated"):
        ChangeDetector(config, encoder_weights=weights)


def test_an_unknown_encoder_is_refused_with_the_closest_names():
    with pytest.raises(
        ConfigError, match=r"unknown encoder 'resnt18': give a timm model name \(did you mean resnet18"
    ):
        DetectorConfig(encoder="resnt18")
