import json

from terrasynth.workflows.bundled import train_bundled


def test_a_bundled_checkpoint_is_trained_beside_its_folder_and_published_with_its_record(tmp_path):
    def train(work, record):
        (work / "model").mkdir(parents=True)
        (work / "model" / "config.json").write_text("{}")
        (work / "model" / "training.json").write_text(
            '{"trained_on": "corpus", "epochs": 2}'
        )  # as trainers write
        record["optimizer_steps"] = 3
        return work / "model"

    out = tmp_path / "checkpoint"
    out.mkdir()
    (out / "old.json").write_text("replaced")
    assert train_bundled("terrasynth train x-checkpoint", out, None, {"world": {"seed": 1}}, train) == out
    assert sorted(p.name for p in out.iterdir()) == ["config.json", "training.json"]
    assert (tmp_path / "checkpoint.work" / "model").is_dir()  # the default work folder, for a rerun
    record = json.loads((out / "training.json").read_text())
    assert record["command"] == "terrasynth train x-checkpoint" and record["world"] == {"seed": 1}
    assert record["optimizer_steps"] == 3 and record["seconds"] >= 0 and record["threads"] >= 1
    assert record["trained_on"] == "corpus" and record["epochs"] == 2  # the trainer's record, extended
    assert not list(tmp_path.glob(".*partial"))
