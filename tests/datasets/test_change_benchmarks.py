import shutil

import numpy as np
import pytest
import torch
from PIL import Image

from terrasynth.core import ConfigError, CorpusError, read_png, write_png
from terrasynth.datasets import LEVIRCDFolder, S2LookingFolder, SECONDFolder, from_to_classes, from_to_values


def _check_pair(sample, size):
    assert set(sample) >= {"image", "mask", "name"}
    assert sample["image"].dtype == torch.float32 and sample["image"].shape == (2, 3, size, size)
    assert sample["image"].min() >= 0.0 and sample["image"].max() <= 1.0
    assert sample["mask"].dtype == torch.int64 and sample["mask"].shape == (size, size)
    assert set(sample["mask"].unique().tolist()) <= {0, 1}


@pytest.mark.parametrize(("split", "count"), [("train", 2), ("val", 1), ("test", 1)])
def test_levircd_reads_its_splits(levircd, split, count):
    ds = LEVIRCDFolder(levircd, split)
    assert len(ds) == count
    sample = ds[0]
    _check_pair(sample, 64)
    assert sample["name"] == f"{split}_1"
    label = read_png(levircd / split / "label" / f"{split}_1.png")
    assert torch.equal(sample["mask"], torch.from_numpy((label == 255).astype(np.int64)))
    changed = sample["mask"].bool()
    assert (sample["image"][0][:, changed] != sample["image"][1][:, changed]).all()
    assert torch.equal(sample["image"][0][:, ~changed], sample["image"][1][:, ~changed])


def test_levircd_crops_tile_each_image(levircd):
    whole = LEVIRCDFolder(levircd, "train")[1]
    crops = LEVIRCDFolder(levircd, "train", crop_size=32)
    assert len(crops) == 2 * 4
    names = [crops[i]["name"] for i in range(4, 8)]
    assert names == ["train_2_r0_c0", "train_2_r0_c32", "train_2_r32_c0", "train_2_r32_c32"]
    crop = crops[4 + 3]
    assert torch.equal(crop["image"], whole["image"][..., 32:, 32:])
    assert torch.equal(crop["mask"], whole["mask"][32:, 32:])
    with pytest.raises(ConfigError, match="crop_size 48 does not divide the 64 x 64 images"):
        LEVIRCDFolder(levircd, "train", crop_size=48)
    with pytest.raises(IndexError):
        crops[8]


def test_s2looking_reads_the_merged_label(s2looking):
    ds = S2LookingFolder(s2looking, "val")
    sample = ds[0]
    _check_pair(sample, 64)
    assert int(sample["mask"][:16, :16].sum()) == 256 and int(sample["mask"][-16:, -16:].sum()) == 256
    assert int(sample["mask"].sum()) == 512
    assert len(S2LookingFolder(s2looking, "train", crop_size=16)) == 2 * 16


def test_second_values_and_from_to_classes(second):
    root, changes = second
    ds = SECONDFolder(root, "train", from_to=True)
    assert len(ds) == 2
    sample = ds[1]
    _check_pair(sample, 64)
    before, after = changes[("train", sample["name"])]
    semantic = sample["semantic"]
    assert semantic.dtype == torch.int64 and semantic.shape == (2, 64, 64)
    assert set(semantic[0].unique().tolist()) == {0, before} and set(semantic[1].unique().tolist()) == {
        0,
        after,
    }
    assert torch.equal(sample["mask"], (semantic[0] > 0).long())
    assert set(sample["from_to"].unique().tolist()) == {0, (before - 1) * 6 + after}
    assert "from_to" not in SECONDFolder(root, "train")[0]


def test_second_grey_value_maps_are_read_as_they_are(second):
    root, _changes = second
    path = root / "test" / "label1" / "00000.png"
    values = SECONDFolder(root, "test")[0]["semantic"][0]
    write_png(path, values.numpy().astype(np.uint8))
    assert torch.equal(SECONDFolder(root, "test")[0]["semantic"][0], values)


def test_from_to_round_trip():
    semantic = torch.tensor([[0, 1, 6, 3], [0, 1, 6, 5]])
    classes = from_to_classes(semantic)
    assert classes.tolist() == [0, 1, 36, 17]
    assert torch.equal(from_to_values(classes), semantic)
    everything = torch.arange(37)
    assert torch.equal(from_to_classes(from_to_values(everything)), everything)


def test_missing_split_or_folder(levircd):
    with pytest.raises(ConfigError, match=r"levir-cd has splits \['train', 'val', 'test'\], not 'eval'"):
        LEVIRCDFolder(levircd, "eval")
    shutil.rmtree(levircd / "val")
    with pytest.raises(CorpusError, match="val does not exist"):
        LEVIRCDFolder(levircd, "val")
    shutil.rmtree(levircd / "test" / "B")
    with pytest.raises(CorpusError, match=r"test/B is missing"):
        LEVIRCDFolder(levircd, "test")


def test_a_missing_label_among_many_is_named(generators, tmp_path):
    root = generators("levircd").write_levircd(tmp_path / "LEVIR-CD", pairs={"train": 8})
    for name in ("train_2.png", "train_4.png", "train_5.png", "train_6.png"):
        (root / "train" / "label" / name).unlink()
    (root / "train" / "B" / "train_8.png").unlink()
    with pytest.raises(CorpusError) as error:
        LEVIRCDFolder(root, "train")
    assert str(error.value).endswith(
        "train: every pair needs an image in each of A, B, label: "
        "B lacks train_8.png; label lacks train_2.png, train_4.png, train_5.png and 1 more"
    )


def test_names_differ(levircd):
    (levircd / "train" / "B" / "train_2.png").rename(levircd / "train" / "B" / "other.png")
    with pytest.raises(
        CorpusError, match=r"A lacks other\.png; B lacks train_2\.png; label lacks other\.png"
    ):
        LEVIRCDFolder(levircd, "train")


def test_a_split_without_images_says_so_and_names_the_layout(levircd):
    for path in (levircd / "test" / "A").iterdir():
        path.rename(path.with_suffix(".bmp"))
    with pytest.raises(
        CorpusError, match=r"test/A holds no images; it holds only \.bmp files: a levir-cd split"
    ):
        LEVIRCDFolder(levircd, "test")
    for path in (levircd / "test" / "A").iterdir():
        path.unlink()
    with pytest.raises(
        CorpusError, match=r"test/A holds no images: a levir-cd split holds the folders \{A/B/label\}"
    ):
        LEVIRCDFolder(levircd, "test")


def test_jpeg_and_tiff_pairs_are_read_like_png(levircd):
    png = LEVIRCDFolder(levircd, "train")[0]
    for folder, suffix, options in (
        ("A", ".jpg", {"quality": 100, "subsampling": 0}),
        ("B", ".tif", {}),
        ("label", ".tif", {}),
    ):
        for path in (levircd / "train" / folder).iterdir():
            with Image.open(path) as image:
                image.save(path.with_suffix(suffix), **options)
            path.unlink()
    pairs = LEVIRCDFolder(levircd, "train")
    assert pairs.names == ["train_1.jpg", "train_2.jpg"]
    sample = pairs[0]
    assert sample["name"] == "train_1" and torch.equal(sample["mask"], png["mask"])
    assert torch.equal(sample["image"][1], png["image"][1])  # TIFF: lossless
    assert (sample["image"][0] - png["image"][0]).abs().mean() < 0.02  # JPEG: close


def test_16_bit_pairs_are_scaled_not_clipped(levircd):
    rng = np.random.default_rng(0)
    grey = rng.integers(0, 65536, (64, 64), dtype=np.uint16)
    for folder in ("A", "B"):
        Image.fromarray(grey).save(levircd / "test" / folder / "test_1.png")
    Image.fromarray(np.where(grey > 32768, 65535, 0).astype(np.uint16)).save(
        levircd / "test" / "label" / "test_1.png"
    )
    sample = LEVIRCDFolder(levircd, "test")[0]
    expected = torch.from_numpy(grey.astype(np.float32) / 65535)
    assert torch.equal(sample["image"][0, 0], expected) and torch.equal(sample["image"][1, 2], expected)
    assert 0.45 < float(sample["image"].mean()) < 0.55  # not clipped to white
    assert torch.equal(sample["mask"], torch.from_numpy((grey > 32768).astype(np.int64)))


def test_a_truncated_png_is_named(generators, levircd):
    generators("corrupt").truncate_file(levircd / "train" / "B" / "train_2.png")
    pairs = LEVIRCDFolder(levircd, "train")
    pairs[0]
    with pytest.raises(
        CorpusError, match=r"B/train_2\.png cannot be read as an image \(image file is truncated"
    ):
        pairs[1]


def test_sizes_differ(levircd):
    write_png(levircd / "train" / "label" / "train_2.png", np.zeros((32, 64), np.uint8))
    ds = LEVIRCDFolder(levircd, "train")
    ds[0]
    with pytest.raises(
        CorpusError, match=r"label/train_2.png is 32 x 64 pixels but A/train_1.png is 64 x 64"
    ):
        ds[1]


def test_unknown_palette_colour(second):
    root, _ = second
    path = root / "train" / "label2" / "00001.png"
    colours = read_png(path, rgb=True).copy()
    colours[5, 7] = (12, 34, 56)
    write_png(path, colours)
    with pytest.raises(
        CorpusError, match=r"label2/00001.png: colour \(12, 34, 56\) is not in the SECOND palette"
    ):
        SECONDFolder(root, "train")[1]


def test_binary_label_values_are_checked(levircd):
    label = np.zeros((64, 64), np.uint8)
    label[0, 0] = 128
    write_png(levircd / "val" / "label" / "val_1.png", label)
    with pytest.raises(CorpusError, match=r"val_1\.png: change labels must be 0 and 255 .* found 128"):
        LEVIRCDFolder(levircd, "val")[0]


@pytest.mark.parametrize("kind, fixture, loader", [
    ("levir-cd", "levircd", LEVIRCDFolder), ("s2looking", "s2looking", S2LookingFolder),
])  # fmt: skip
def test_open_change_dataset_by_name(kind, fixture, loader, request):
    from terrasynth.datasets import open_change_dataset

    root = request.getfixturevalue(fixture)
    dataset = open_change_dataset(kind, root, "test")
    assert isinstance(dataset, loader) and len(dataset) == 1
    assert open_change_dataset(kind, root, "train", crop_size=32)[0]["image"].shape == (2, 3, 32, 32)


def test_open_change_dataset_second_and_folders(second, levircd, change_series_store):
    from terrasynth.datasets import ChangeSeriesPairs, open_change_dataset

    assert "semantic" in open_change_dataset("second", second[0], "train")[0]
    assert len(open_change_dataset("folder", levircd, "train")) == 2  # a folder with splits
    assert len(open_change_dataset("folder", levircd / "train", "test")) == 2  # A/B/label directly
    assert isinstance(open_change_dataset("folder", change_series_store), ChangeSeriesPairs)


def test_open_change_dataset_refuses_unknown_names_and_missing_folders(tmp_path):
    from terrasynth.datasets import open_change_dataset

    with pytest.raises(ConfigError, match="--dataset 'xview' is unknown: use one of levir-cd, s2looking"):
        open_change_dataset("xview", tmp_path)
    with pytest.raises(CorpusError, match="nothing does not exist"):
        open_change_dataset("levir-cd", tmp_path / "nothing")
