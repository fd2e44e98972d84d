import json

from terrasynth.models.changen2 import Changen2Model
from terrasynth.workflows import changen2_checkpoint


def test_one_command_trains_the_bundled_changen2_checkpoint_from_scratch(monkeypatch, tmp_path):
    # the recipe at a toy size: one 96 m town edge at 4 m and two optimizer steps
    monkeypatch.setattr(
        changen2_checkpoint, "WORLD", changen2_checkpoint.WORLD | {"towns": 1, "side": 96.0, "level": "4m"}
    )
    monkeypatch.setattr(changen2_checkpoint, "TILE", 16)
    small = {"max_epochs": 1, "steps_per_epoch": 2, "batch_size": 2, "sample_every_n_epochs": 1}
    monkeypatch.setattr(changen2_checkpoint, "TRAINING", changen2_checkpoint.TRAINING | small)
    out = changen2_checkpoint.train_checkpoint(tmp_path / "changen2", work=tmp_path / "work")
    assert sorted(p.name for p in out.iterdir()) == ["model_index.json", "rsdit", "training.json"]
    model = Changen2Model.from_pretrained(out)
    assert model.gsd == 4.0 and model.tile_size == 16 and model.schedule.prediction_type == "sample"
    assert 250 in model.encoding.classes  # building footprints are a class of their own
    record = json.loads((out / "training.json").read_text())
    assert record["optimizer_steps"] == 2 and record["world"]["seed"] == 1000 and record["seconds"] >= 0
    assert record["command"] == "terrasynth train changen2-checkpoint"
    assert (
        record["epochs"] == 1
        and record["trained_on"] == f"corpus:{(tmp_path / 'work' / 'world.zarr').resolve()}:4m"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["changen2", "work"]  # no .changen2.partial left


def test_the_bundled_checkpoint_is_what_the_command_makes():
    from terrasynth.workflows.demo import BUNDLED

    folder = BUNDLED / "changen2"
    record = json.loads((folder / "training.json").read_text())
    assert record["command"] == "terrasynth train changen2-checkpoint"
    assert record["world"] == json.loads(json.dumps(changen2_checkpoint.WORLD))  # tuples come back as lists
    assert record["settings"] == changen2_checkpoint.TRAINING and record["tile"] == changen2_checkpoint.TILE
    model = Changen2Model.from_pretrained(folder)
    assert model.gsd == 1.0 and model.tile_size == changen2_checkpoint.TILE
    assert model.schedule.prediction_type == "sample" and 250 in model.encoding.classes
