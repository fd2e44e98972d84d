import numpy as np
import pytest
import torch
from scipy import ndimage

from terrasynth.core.errors import ConfigError
from terrasynth.models.changen2 import pseudo_mask, pseudo_mask_events, simulate_changes
from terrasynth.models.changen2.components import EIGHT_CONNECTED


def _scene(seed=0, bands=3, size=(96, 128)):
    """Three regions: dark and smooth (left), bright and smooth (right), a mid-grey square of
    strong texture (centre); plus salt noise that k-means alone would turn into specks."""
    generator = torch.Generator().manual_seed(seed)
    width = size[1]
    truth = torch.ones(size, dtype=torch.long)
    truth[:, width // 2 :] = 3
    truth[30:70, 40:90] = 2
    image = torch.tensor([0.1, 0.5, 0.9])[truth - 1].expand(bands, -1, -1).clone()
    image += 0.02 * torch.randn(image.shape, generator=generator)
    texture = 0.25 * torch.randn((bands, 40, 50), generator=generator)
    image[:, 30:70, 40:90] += texture
    salt = torch.rand(size, generator=generator) < 0.003
    image[:, salt] = 2.0
    return image, truth


def test_recovers_the_regions():
    image, truth = _scene()
    mask = pseudo_mask(image, 3, generator=torch.Generator().manual_seed(0))
    assert mask.shape == truth.shape and mask.dtype == torch.int64
    # numbered dark -> bright, so the labels match the truth without permutation
    assert (mask == truth).float().mean() > 0.95


def test_no_specks_and_codes_from_one():
    image, _ = _scene(seed=1, bands=4, size=(80, 112))
    mask = pseudo_mask(image, 5, generator=torch.Generator().manual_seed(0)).numpy()
    assert mask.min() >= 1 and mask.max() <= 5
    for label in np.unique(mask):
        components, _ = ndimage.label(mask == label, structure=EIGHT_CONNECTED)
        assert np.bincount(components.ravel())[1:].min() > 64


def test_same_generator_state_same_mask():
    image, _ = _scene(seed=2)
    first = pseudo_mask(image, 6, generator=torch.Generator().manual_seed(4))
    again = pseudo_mask(image, 6, generator=torch.Generator().manual_seed(4))
    assert torch.equal(first, again)


def test_bad_input_is_named():
    with pytest.raises(ConfigError, match=r"\(C, H, W\) float image"):
        pseudo_mask(torch.zeros(8, 8))


def test_pseudo_masks_feed_the_change_simulation():
    image, _ = _scene(seed=3)
    mask = pseudo_mask(image, 3, generator=torch.Generator().manual_seed(0)).numpy()
    sequence = simulate_changes(mask, 3, pseudo_mask_events(3, transition_p=1.0), 0, gsd=1.0)
    changed = sequence.masks[1] != sequence.masks[0]
    assert changed.mean() > 0.9 and set(np.unique(sequence.masks)) <= {1, 2, 3}
