import json

import numpy as np
import pytest
import xarray as xr

from terrasynth.core.change_data import read_png, second_from_rgb
from terrasynth.core.change_writers import ChangeSeriesWriter, LevirCDWriter, SecondWriter
from terrasynth.core.errors import CorpusError
from terrasynth.core.outputs import atomic_path, partial_path


def _pair(seed, size=(24, 32)):
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (2, *size, 3), dtype=np.uint8)
    semantic = rng.integers(1, 7, (2, *size), dtype=np.uint8)
    return images, semantic, semantic[0] != semantic[1]


def test_levir_cd_round_trip(tmp_path):
    out = tmp_path / "levir"
    pairs = {name: _pair(seed) for seed, name in enumerate(["p0", "p1"])}
    with LevirCDWriter(out, properties={"seed": 3}) as writer:
        for name, (images, _, change) in pairs.items():
            writer.write(name, images[0], images[1], change)
    for name, (images, _, change) in pairs.items():
        assert np.array_equal(read_png(out / "train" / "A" / f"{name}.png"), images[0])
        assert np.array_equal(read_png(out / "train" / "B" / f"{name}.png"), images[1])
        assert np.array_equal(read_png(out / "train" / "label" / f"{name}.png"), np.where(change, 255, 0))
    collection = json.loads((out / "collection.json").read_text())
    assert collection["id"] == "levir" and collection["terrasynth"] == {
        "layout": "levir-cd",
        "count": 2,
        "seed": 3,
    }
    assert collection["assets"]["label"]["href"] == "train/label/"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["levir"]


def test_second_round_trip(tmp_path):
    images, semantic, change = _pair(0)
    with SecondWriter(tmp_path / "second", split="test") as writer:
        writer.write("x", images[0], images[1], semantic[0], semantic[1], change)
    for date, folder in enumerate(["label1", "label2"]):
        values = second_from_rgb(read_png(tmp_path / "second" / "test" / folder / "x.png", rgb=True))
        assert np.array_equal(values, np.where(change, semantic[date], 0))
    assert np.array_equal(read_png(tmp_path / "second" / "test" / "im2" / "x.png"), images[1])


def test_series_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    image = rng.integers(0, 10000, (2, 3, 4, 16, 16), dtype=np.uint16)
    semantic = rng.integers(0, 5, (2, 3, 16, 16), dtype=np.uint8)
    change = np.ones((2, 3, 16, 16), bool)
    with ChangeSeriesWriter(tmp_path / "series", properties={"seed": 9}) as writer:
        for index in range(2):
            writer.write(image[index], semantic[index], change[index])
    ds = xr.open_zarr(tmp_path / "series" / "series.zarr", consolidated=False)
    assert ds.image.dims == ("series", "time", "band", "y", "x") and ds.attrs["seed"] == 9
    assert np.array_equal(ds.image.values, image) and np.array_equal(ds.semantic.values, semantic)
    assert not ds.change.values[:, 0].any() and ds.change.values[:, 1:].all()
    assert json.loads((tmp_path / "series" / "collection.json").read_text())["terrasynth"]["count"] == 2


def test_interrupted_output_never_looks_complete(tmp_path):
    images, _, change = _pair(0)
    out = tmp_path / "levir"
    with pytest.raises(KeyboardInterrupt), LevirCDWriter(out) as writer:
        writer.write("p0", images[0], images[1], change)
        raise KeyboardInterrupt
    assert not list(tmp_path.iterdir())  # neither the folder nor its partial copy
    left = tmp_path / ".levir.partial" / "train" / "A" / "p0.png"  # what a killed run leaves
    left.parent.mkdir(parents=True)
    left.write_bytes(b"half")
    with LevirCDWriter(out) as writer:  # a rerun starts the partial folder over
        writer.write("p1", images[0], images[1], change)
    assert sorted(p.name for p in (out / "train" / "A").iterdir()) == ["p1.png"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["levir"]


def test_a_change_folder_is_filled_and_replaced_as_any_atomic_write_is(tmp_path):
    images, _, change = _pair(0)
    out = tmp_path / "levir"
    with atomic_path(out) as partial:  # an earlier output, written by the one atomic-write helper
        (partial / "old.txt").parent.mkdir()
        (partial / "old.txt").write_text("the last run")
    with LevirCDWriter(out, overwrite=True) as writer:
        assert writer.stage == partial == partial_path(out) and writer.stage.is_dir()
        writer.write("p0", images[0], images[1], change)
        assert (out / "old.txt").is_file()  # the old output stays until the new one is complete
    assert not (out / "old.txt").exists() and (out / "train" / "A" / "p0.png").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["levir"]


def test_bad_input_is_named(tmp_path):
    images, semantic, change = _pair(0)
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("")
    with pytest.raises(CorpusError, match="not empty"):
        LevirCDWriter(tmp_path / "full")
    with pytest.raises(CorpusError, match="split 'val'"):
        SecondWriter(tmp_path / "s", split="val")
    writer = LevirCDWriter(tmp_path / "a")
    with pytest.raises(CorpusError, match=r"\(H, W, 3\) uint8"):
        writer.write("p", images[0].astype(np.float32), images[1], change)
    writer.write("p", images[0], images[1], change)
    with pytest.raises(CorpusError, match="written already"):
        writer.write("p", images[0], images[1], change)
    with pytest.raises(CorpusError, match="differ in size"):
        writer.write("q", images[0], images[1], change[:5])
    with pytest.raises(CorpusError, match="classes 1-6"):
        SecondWriter(tmp_path / "b").write("p", images[0], images[1], semantic[0] * 0, semantic[1], change)
    with pytest.raises(CorpusError, match="nothing was written"):
        ChangeSeriesWriter(tmp_path / "c").close()


def test_pairs_of_every_split_are_described_split_by_split(tmp_path):
    images, semantic, change = _pair(0)
    out = tmp_path / "second"
    with SecondWriter(out, split=None, collection_id="set", description="Two splits.") as writer:
        writer.write("a", images[0], images[1], semantic[0], semantic[1], change, split="train")
        writer.write("a", images[0], images[1], semantic[0], semantic[1], change, split="test")
        writer.write("b", images[0], images[1], semantic[0], semantic[1], change, split="test")
        with pytest.raises(CorpusError, match="split None"):
            writer.write("c", images[0], images[1], semantic[0], semantic[1], change)
    assert sorted(p.name for p in (out / "test" / "label2").iterdir()) == ["a.png", "b.png"]
    collection = json.loads((out / "collection.json").read_text())
    assert (collection["id"], collection["description"]) == ("set", "Two splits.")
    assert collection["terrasynth"] == {"layout": "second", "pairs": {"train": 1, "test": 2}}
    assert collection["assets"]["test"] == {
        "href": "./test/",
        "type": "inode/directory",
        "title": "test split: 2 pairs",
    }


def test_overwrite_replaces_a_folder_only_once_the_new_data_is_complete(tmp_path):
    images, _, change = _pair(0)
    out = tmp_path / "levir"
    out.mkdir()
    (out / "old.txt").write_text("old")
    writer = LevirCDWriter(out, overwrite=True)
    writer.write("p0", images[0], images[1], change)
    assert (out / "old.txt").exists()  # still the old data while the new is written
    writer.close()
    assert sorted(p.name for p in out.iterdir()) == ["collection.json", "train"]
