import numpy as np
import pytest
import torch

from terrasynth.core.errors import ConfigError
from terrasynth.models.changen2 import BUILDING_EVENTS, WORLDCOVER_EVENTS, MaskEncoding
from terrasynth.models.changen2.contour import class_boundaries
from terrasynth.models.changen2.mask_encoding import class_boundaries as tensor_class_boundaries


def test_one_channel_per_class_and_a_boundary_channel(make_masks):
    codes = torch.from_numpy(make_masks.landcover_mask((64, 48)).astype(np.int64))[None]
    codes[0, :4] = 0  # no data
    encoding = MaskEncoding.for_kind("landcover")
    condition = encoding.encode(codes)
    assert (
        condition.shape == (1, 13, 64, 48) and encoding.channels == 13
    )  # 11 WorldCover, buildings, boundary
    classes = condition[0, :-1]
    assert torch.equal(classes.sum(0), (codes[0] != 0).float())  # one-hot; no data is all zeros
    for channel, code in enumerate(encoding.classes):
        assert torch.equal(classes[channel].bool(), codes[0] == code)
    assert torch.equal(condition[0, -1].bool(), torch.from_numpy(class_boundaries(codes[0].numpy())))


def test_given_boundaries_replace_the_mask_s_own():
    encoding = MaskEncoding.for_kind("buildings")
    codes = torch.zeros(2, 16, 16, dtype=torch.long)
    boundaries = torch.zeros(2, 16, 16, dtype=torch.bool)
    boundaries[1, 3] = True
    condition = encoding.encode(codes, boundaries)
    assert condition.shape == (2, 2, 16, 16)
    assert torch.equal(condition[:, 1].bool(), boundaries)
    assert MaskEncoding("buildings", (1,), boundary=False).encode(codes).shape == (2, 1, 16, 16)


def test_tensor_boundaries_match_the_numpy_contours(make_masks):
    masks = np.stack([make_masks.landcover_mask((40, 56), seed=s) for s in range(3)]).astype(np.int64)
    expected = np.stack([class_boundaries(m) for m in masks])
    assert np.array_equal(tensor_class_boundaries(torch.from_numpy(masks)).numpy(), expected)


def test_kinds_choose_their_events_and_round_trip():
    assert MaskEncoding.for_kind("landcover").change_events() is WORLDCOVER_EVENTS
    assert MaskEncoding.for_kind("buildings").change_events() is BUILDING_EVENTS
    pseudo = MaskEncoding.for_kind("pseudo", pseudo_classes=5)
    assert pseudo.classes == (1, 2, 3, 4, 5) and set(pseudo.change_events().kernel) == {1, 2, 3, 4, 5}
    assert MaskEncoding.from_dict(pseudo.to_dict()) == pseudo
    with pytest.raises(ConfigError, match="unknown"):
        MaskEncoding.for_kind("roads")
    with pytest.raises(ConfigError, match="other than 0"):
        MaskEncoding("landcover", (0, 10))
