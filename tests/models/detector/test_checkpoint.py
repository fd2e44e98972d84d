import json

import pytest
import torch

from terrasynth.core.errors import WeightsError
from terrasynth.models.detector import (
    ChangeDetector,
    DetectorConfig,
    checkpoint_paths,
    load_detector,
    save_detector,
)


def test_round_trip_gives_the_same_outputs(tmp_path):
    torch.manual_seed(0)
    model = ChangeDetector(DetectorConfig(encoder="resnet18", decoder_channels=8, semantic_classes=6)).eval()
    path = save_detector(model, tmp_path / "run", metadata={"trained_on": "synthetic"})
    assert path == tmp_path / "run" / "detector.safetensors"
    assert json.loads(path.with_suffix(".json").read_text())["detector"]["semantic_classes"] == 6
    loaded, metadata = load_detector(tmp_path / "run")
    images = torch.rand(1, 2, 3, 32, 32)
    with torch.no_grad():
        for name, value in model(images).items():
            assert torch.equal(loaded(images)[name], value)
    assert metadata == {"trained_on": "synthetic"}
    assert not list((tmp_path / "run").glob(".*partial"))


def test_paths_of_a_checkpoint(tmp_path):
    assert checkpoint_paths(tmp_path / "a.safetensors") == (tmp_path / "a.safetensors", tmp_path / "a.json")
    assert checkpoint_paths(tmp_path / "a.json")[0] == tmp_path / "a.safetensors"
    assert checkpoint_paths(tmp_path)[1] == tmp_path / "detector.json"


def test_missing_or_mismatched_checkpoints_are_refused(tmp_path):
    with pytest.raises(WeightsError, match=r"checkpoint file .*detector\.safetensors is missing"):
        load_detector(tmp_path)
    model = ChangeDetector(DetectorConfig(encoder="resnet18", decoder_channels=8))
    path = save_detector(model, tmp_path / "m.safetensors")
    document = json.loads(path.with_suffix(".json").read_text())
    document["detector"]["decoder_channels"] = 16
    path.with_suffix(".json").write_text(json.dumps(document))
    with pytest.raises(WeightsError, match=r"does not fit m\.json"):
        load_detector(path)


def small_detector() -> ChangeDetector:
    return ChangeDetector(DetectorConfig(encoder="test_efficientnet", decoder_channels=8))


def test_a_truncated_checkpoint_is_refused_naming_the_file(tmp_path, generators):
    weights = generators("corrupt").truncate_file(save_detector(small_detector(), tmp_path))
    with pytest.raises(WeightsError, match=f"{weights} is damaged or truncated"):
        load_detector(tmp_path)


def test_a_file_that_is_not_a_detector_checkpoint_is_refused_asking_for_the_run_folder(tmp_path):
    torch.save(small_detector().state_dict(), tmp_path / "detector.pth")
    with pytest.raises(
        WeightsError, match=r"detector\.pth is not a detector checkpoint: give the run folder"
    ):
        load_detector(tmp_path / "detector.pth")
    with pytest.raises(
        WeightsError, match=r"detector checkpoint .*missing\.safetensors is missing: give the run folder"
    ):
        load_detector(tmp_path / "missing.safetensors")
    save_detector(small_detector(), tmp_path / "model.safetensors")
    assert load_detector(tmp_path / "model.safetensors")[0].config.encoder == "test_efficientnet"


def test_an_unfinished_training_run_is_refused_saying_so(tmp_path):
    (tmp_path / "last.ckpt").write_bytes(b"the state of a run still training")
    with pytest.raises(
        WeightsError, match=r"holds an unfinished training run \(no detector\.safetensors yet\)"
    ):
        load_detector(tmp_path)
