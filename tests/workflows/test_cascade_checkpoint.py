import json

import torch
from safetensors.torch import load_file

from terrasynth.models.metaearth import MetaEarthDenoiser
from terrasynth.workflows import cascade_checkpoint


def test_one_command_trains_the_bundled_checkpoint_from_scratch(monkeypatch, tmp_path):
    # the recipe at a toy size: a 700 m world and two optimizer steps
    monkeypatch.setitem(cascade_checkpoint.WORLD, "area", 700.0)
    monkeypatch.setattr(cascade_checkpoint, "CHIP", 16)
    small = {"max_epochs": 1, "steps_per_epoch": 2, "batch_size": 2, "sample_every_n_epochs": 1}
    monkeypatch.setattr(cascade_checkpoint, "TRAINING", cascade_checkpoint.TRAINING | small)
    out = cascade_checkpoint.train_checkpoint(tmp_path / "metaearth", work=tmp_path / "work")
    assert sorted(p.name for p in out.iterdir()) == [
        "config.json", "diffusion_pytorch_model.safetensors", "training.json",
    ]  # fmt: skip
    model = MetaEarthDenoiser.from_pretrained(out)
    assert [gsd for gsd, _ in model.pairs] == [16.0, 4.0] and model.config.residual
    assert model.schedule.prediction_type == "sample" and model.config.window == 16
    record = json.loads((out / "training.json").read_text())
    assert record["optimizer_steps"] == 2 and record["world"]["seed"] == 1000 and record["seconds"] >= 0
    assert record["command"] == "terrasynth train metaearth-checkpoint"
    assert (
        record["epochs"] == 1 and record["settings"] == cascade_checkpoint.TRAINING
    )  # the trainer's record, extended
    assert sorted(p.name for p in tmp_path.iterdir()) == ["metaearth", "work"]  # no .metaearth.partial left
    assert next(model.parameters()).dtype == torch.float32
    stored = load_file(out / "diffusion_pytorch_model.safetensors")
    trained = load_file(tmp_path / "work" / "run" / "model" / "diffusion_pytorch_model.safetensors")
    assert {t.dtype for t in stored.values()} == {torch.float16} and stored.keys() == trained.keys()


def test_the_bundled_checkpoint_is_what_the_command_makes():
    from terrasynth.workflows.demo import BUNDLED

    folder = BUNDLED / "metaearth"
    record = json.loads((folder / "training.json").read_text())
    assert record["command"] == "terrasynth train metaearth-checkpoint"
    assert record["world"] == json.loads(json.dumps(cascade_checkpoint.WORLD))  # tuples come back as lists
    assert record["settings"] == cascade_checkpoint.TRAINING and record["chip"] == cascade_checkpoint.CHIP
    model = MetaEarthDenoiser.from_pretrained(folder)
    assert [gsd for gsd, _ in model.pairs] == [16.0, 4.0] and model.config.window == cascade_checkpoint.CHIP
