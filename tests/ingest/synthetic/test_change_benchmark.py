"""Change sets cut from the world: LEVIR-CD and SECOND layouts, readable back, labels true to the world."""

import json

import numpy as np
import pytest
from affine import Affine

from terrasynth.core import LEVIR_CD, SECOND, ConfigError, GridSpec, read_png, second_from_rgb
from terrasynth.core.change_data import second_classes
from terrasynth.ingest.synthetic import SyntheticWorld, build_change_benchmark, true_colour

DATES = ("2015-06-01", "2025-06-01")


def pair_grid(bounds, size: int, gsd: float) -> GridSpec:
    left, _, _, top = bounds
    return GridSpec("EPSG:32632", Affine(gsd, 0, left, 0, -gsd, top), (size, size))


@pytest.fixture(scope="module")
def levir(tmp_path_factory):
    root = tmp_path_factory.mktemp("sets") / "levir"
    pairs = {"train": 2, "val": 1, "test": 2}
    build_change_benchmark(
        root, "levir-cd", seed=0, pairs_per_split=pairs, size=48, gsd=4.0, date1=DATES[0], date2=DATES[1]
    )
    return root, pairs


def test_levir_cd_layout_reads_back(levir):
    root, pairs = levir
    for split in LEVIR_CD.splits:
        for folder in (*LEVIR_CD.images, *LEVIR_CD.labels):
            names = sorted(p.name for p in (root / split / folder).glob("*.png"))
            assert names == sorted(f"{split}_{i}.png" for i in range(pairs[split]))
        label = read_png(root / split / "label" / f"{split}_0.png")
        assert label.shape == (48, 48) and set(np.unique(label)) <= {0, 255}
        assert read_png(root / split / "A" / f"{split}_0.png").shape == (48, 48, 3)
    assert not list(root.parent.glob(".*partial*"))


def test_levir_cd_labels_are_the_building_changes_of_the_world(levir):
    root, _ = levir
    stac = json.loads((root / "collection.json").read_text())
    settings = stac["terrasynth"]
    assert (settings["seed"], settings["layout"], settings["date1"]) == (0, "levir-cd", DATES[0])
    world = SyntheticWorld(0)
    changed = 0
    for name, bounds in settings["bounds"].items():
        split = name.rsplit("_", 1)[0]
        grid = pair_grid(bounds, 48, 4.0)
        before, after = world.render(grid, DATES[0]), world.render(grid, DATES[1])
        label = read_png(root / split / "label" / f"{name}.png") == 255
        assert np.array_equal(label, before.buildings != after.buildings)
        assert not (label & (before.landcover == after.landcover)).any()
        assert np.array_equal(read_png(root / split / "B" / f"{name}.png"), true_colour(after.image))
        changed += label.sum()
    assert changed > 0


def test_splits_come_from_different_places(levir):
    root, _ = levir
    bounds = json.loads((root / "collection.json").read_text())["terrasynth"]["bounds"]
    by_split = {}
    for name, box in bounds.items():
        by_split.setdefault(name.rsplit("_", 1)[0], []).append(box)
    for split, boxes in by_split.items():
        for other, others in by_split.items():
            if other == split:
                continue
            for a in boxes:
                for b in others:
                    assert a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1], (split, other)


def test_second_layout_labels_changed_pixels_with_second_classes(tmp_path):
    root = build_change_benchmark(
        tmp_path / "second",
        "second",
        seed=0,
        pairs_per_split=1,
        size=40,
        gsd=4.0,
        date1=DATES[0],
        date2=DATES[1],
    )
    settings = json.loads((root / "collection.json").read_text())["terrasynth"]
    world = SyntheticWorld(0)
    for split in SECOND.splits:
        name = f"{split}_0"
        label1 = second_from_rgb(read_png(root / split / "label1" / f"{name}.png", rgb=True))
        label2 = second_from_rgb(read_png(root / split / "label2" / f"{name}.png", rgb=True))
        grid = pair_grid(settings["bounds"][name], 40, 4.0)
        before, after = world.render(grid, DATES[0], image=False), world.render(grid, DATES[1], image=False)
        classes1 = second_classes(before.landcover, before.buildings)
        classes2 = second_classes(after.landcover, after.buildings)
        changed = classes1 != classes2
        assert changed.any()
        assert np.array_equal(label1 != 0, changed) and np.array_equal(label2 != 0, changed)
        assert np.array_equal(label1[changed], classes1[changed]) and np.array_equal(
            label2[changed], classes2[changed]
        )
        assert read_png(root / split / "im1" / f"{name}.png").shape == (40, 40, 3)


def test_bad_requests_are_named(tmp_path):
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x.txt").write_text("x")
    with pytest.raises(ConfigError, match="already holds files"):
        build_change_benchmark(tmp_path / "full", pairs_per_split=1, size=16)
    with pytest.raises(ConfigError, match="unknown layout"):
        build_change_benchmark(tmp_path / "a", "oscd")
    with pytest.raises(ConfigError, match="second has splits train, test; not val"):
        build_change_benchmark(tmp_path / "b", "second", pairs_per_split={"val": 1})
    with pytest.raises(ConfigError, match="too large"):
        build_change_benchmark(tmp_path / "c", size=1024, gsd=4.0)
    assert not (tmp_path / "a").exists() and not (tmp_path / "c").exists()


def test_a_set_of_no_pairs_is_refused_before_anything_is_written(tmp_path):
    with pytest.raises(ConfigError, match="no pairs asked for"):
        build_change_benchmark(tmp_path / "empty", pairs_per_split=0, size=16)
    assert not list(tmp_path.iterdir())
