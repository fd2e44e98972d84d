import torch

from terrasynth.models.detector import random_crop, random_dihedral


def pair(height=6, width=6):
    """A sample whose label maps are functions of its images, pixel by pixel."""
    before = torch.arange(height * width, dtype=torch.float32).reshape(1, height, width).expand(3, -1, -1)
    after = before.clone()
    after[:, : height // 2, : width // 3] += 100  # a changed corner
    image = torch.stack([before, after])
    return {
        "image": image,
        "mask": (image[1, 0] != image[0, 0]).long(),
        "semantic": (image[:, 0] >= 100).long() + 1,
        "name": "p",
    }


def still_consistent(sample):
    image = sample["image"]
    assert torch.equal(sample["mask"], (image[1, 0] != image[0, 0]).long())
    assert torch.equal(sample["semantic"], (image[:, 0] >= 100).long() + 1)
    assert sample["name"] == "p"


def test_a_crop_takes_the_same_window_of_every_map():
    generator = torch.Generator().manual_seed(0)
    for _ in range(10):
        cropped = random_crop(pair(), 4, generator)
        assert cropped["image"].shape[-2:] == cropped["mask"].shape == (4, 4)
        still_consistent(cropped)
    small = pair(3, 3)
    assert random_crop(small, 4) is small


def test_quarter_turns_mirrors_and_date_swaps_all_occur_and_keep_labels_aligned():
    generator = torch.Generator().manual_seed(0)
    sample = pair()
    seen = set()
    for _ in range(200):
        augmented = random_dihedral(sample, generator)
        still_consistent(augmented)
        seen.add(augmented["image"].numpy().tobytes())
    assert len(seen) == 16  # 4 turns x 2 mirror images x 2 date orders
    assert torch.equal(sample["image"], pair()["image"])  # the input is left as it was


def test_a_sample_that_is_not_square_keeps_its_shape():
    generator = torch.Generator().manual_seed(0)
    shapes = {random_dihedral(pair(4, 6), generator)["mask"].shape for _ in range(50)}
    assert shapes == {(4, 6)}


def test_draws_repeat_with_the_seed():
    runs = [
        [random_dihedral(pair(), generator)["image"] for _ in range(5)]
        for generator in (torch.Generator().manual_seed(3), torch.Generator().manual_seed(3))
    ]
    assert all(torch.equal(a, b) for a, b in zip(*runs, strict=True))
