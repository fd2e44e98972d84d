import json

import numpy as np
import pytest

from terrasynth.core import (
    LEVIR_CD,
    SECOND,
    SECOND_PALETTE,
    CorpusError,
    change_series,
    read_png,
    second_from_rgb,
    second_to_rgb,
    write_png,
)
from terrasynth.core.change_data import second_classes
from terrasynth.core.stac import write_stac_collection


def test_second_palette_round_trip():
    values = np.arange(7, dtype=np.uint8).reshape(1, 7).repeat(3, axis=0)
    rgb = second_to_rgb(values)
    assert rgb[0, 1].tolist() == [0, 0, 255] and rgb[0, 5].tolist() == [128, 0, 0]
    assert np.array_equal(second_from_rgb(rgb), values)


def test_second_unknown_colour_is_named():
    rgb = SECOND_PALETTE[np.zeros((2, 2), int)].copy()
    rgb[1, 1] = [1, 2, 3]
    with pytest.raises(CorpusError, match=r"im1/x.png: colour \(1, 2, 3\) is not in the SECOND palette"):
        second_from_rgb(rgb, where="im1/x.png")
    with pytest.raises(CorpusError, match="0-6"):
        second_to_rgb(np.array([7]))


def test_png_round_trip_leaves_no_partial_file(tmp_path):
    image = np.random.default_rng(0).integers(0, 255, (5, 6, 3), dtype=np.uint8)
    path = tmp_path / "train" / LEVIR_CD.images[0] / "p0.png"
    write_png(path, image)
    assert np.array_equal(read_png(path), image)
    assert [p.name for p in path.parent.iterdir()] == ["p0.png"]
    write_png(tmp_path / "label.png", np.full((5, 6), 255, np.uint8))
    assert read_png(tmp_path / "label.png", rgb=True).shape == (5, 6, 3)


def test_layouts():
    assert LEVIR_CD.images == ("A", "B") and SECOND.labels == ("label1", "label2")


def test_change_series_shapes():
    ds = change_series(
        np.zeros((2, 3, 4, 8, 8), np.uint16), np.zeros((2, 3, 8, 8)), np.zeros((2, 3, 8, 8)), seed=1
    )
    assert ds.image.dims == ("series", "time", "band", "y", "x") and ds.attrs["seed"] == 1
    with pytest.raises(CorpusError, match="disagree"):
        change_series(np.zeros((2, 3, 4, 8, 8)), np.zeros((2, 2, 8, 8)), np.zeros((2, 2, 8, 8)))


def test_stac_collection(tmp_path):
    path = write_stac_collection(
        tmp_path,
        id="demo",
        description="a test",
        bbox=(1, 2, 3, 4),
        start=None,
        end=None,
        assets={"data": ("data.zarr", "application/vnd+zarr", "the cube")},
        properties={"seed": 3},
    )
    doc = json.loads(path.read_text())
    assert doc["type"] == "Collection" and doc["extent"]["spatial"]["bbox"] == [[1, 2, 3, 4]]
    assert doc["assets"]["data"]["href"] == "data.zarr" and doc["terrasynth"] == {"seed": 3}
    with pytest.raises(CorpusError, match="credential"):
        write_stac_collection(
            tmp_path,
            id="x",
            description="x",
            bbox=(0, 0, 1, 1),
            start=None,
            end=None,
            assets={},
            properties={"token": "abc"},
        )


def test_second_classes_of_worldcover():
    landcover = np.array([[80, 60, 50, 10, 30, 40]], np.uint8)
    buildings = np.array([[False, False, True, False, False, False]])
    assert second_classes(landcover, buildings).tolist() == [[1, 2, 5, 4, 3, 3]]
    assert second_classes(landcover, np.zeros_like(buildings))[0, 2] == 2  # roads are ground
