import pytest
import torch

from terrasynth.core.errors import ConfigError
from terrasynth.models.metaearth.area import area_average, area_coverage
from terrasynth.models.metaearth.denoiser import resample_onto
from terrasynth.models.metaearth.layout import take_layout

# Float32 sums of values of order 1 carry about 1e-6 of rounding each; eight passes of them stay
# well inside 1e-4.
FLOAT32 = 1e-4

ALIGNED = torch.tensor([[2.0, 2.0, 10.0, 10.0], [3.0, 1.0, 11.0, 9.0]])
"""32 px windows on whole condition pixels at a ratio of 4 (16 -> 4 m)."""

OFFSET = torch.tensor([[2.3, 2.1], [4.9, 3.6]]).repeat(1, 2) + torch.tensor([0, 0, 32 / 3.75, 32 / 3.75])
"""32 px windows a fraction of a pixel off a condition 3.75 times coarser (60 -> 16 m)."""


def conditions(seed: int = 0) -> torch.Tensor:
    return torch.rand((2, 3, 14, 14), generator=torch.Generator().manual_seed(seed))


def window_averages(image: torch.Tensor, box: torch.Tensor, condition: torch.Tensor) -> list[tuple]:
    """Per window, its averages over the condition pixels it covers whole and those pixels' values."""
    rows = area_coverage(image.shape[-2], box[:, 0], box[:, 2], condition.shape[-2])
    cols = area_coverage(image.shape[-1], box[:, 1], box[:, 3], condition.shape[-1])
    averages = area_average(image, rows, cols)
    pairs = []
    for b in range(len(image)):
        inside = (slice(None), slice(rows.first[b], rows.last[b] + 1), slice(cols.first[b], cols.last[b] + 1))
        pairs.append((averages[b][inside], condition[b][inside]))
    return pairs


@pytest.mark.parametrize("box", [ALIGNED, OFFSET], ids=["ratio 4", "ratio 3.75, offset"])
def test_the_window_averaged_onto_its_condition_pixels_gives_the_condition(box):
    condition = conditions()
    generated = resample_onto(condition, box, (32, 32), "bicubic") + 0.3 * torch.randn(
        (2, 3, 32, 32), generator=torch.Generator().manual_seed(1)
    )
    before = max((a - c).abs().max() for a, c in window_averages(generated, box, condition))
    for averages, values in window_averages(take_layout(generated, condition, box), box, condition):
        # eight passes leave under 1 % of the difference (the docstring of BACK_PROJECTIONS)
        assert (averages - values).abs().max() < 0.01 * before


def test_a_window_that_already_averages_to_its_condition_is_unchanged():
    condition = conditions()
    # each condition pixel repeated over its 4 x 4 window pixels averages back to itself exactly
    blocks = [condition[b, :, r : r + 8, c : c + 8] for b, (r, c) in enumerate(((2, 2), (3, 1)))]
    image = torch.stack(blocks).repeat_interleave(4, dim=-2).repeat_interleave(4, dim=-1)
    assert torch.allclose(take_layout(image, condition, ALIGNED), image, atol=FLOAT32)


def test_detail_finer_than_the_condition_pixels_is_kept():
    condition = conditions()
    generated = resample_onto(condition, ALIGNED, (32, 32), "bicubic")
    # a 2 px checkerboard averages to 0 over every 4 x 4 condition pixel: all of it is detail
    checkerboard = 0.1 * (torch.arange(32)[:, None] + torch.arange(32)[None, :]).remainder(2).float() - 0.05
    kept = take_layout(generated + checkerboard, condition, ALIGNED)
    assert torch.allclose(kept - take_layout(generated, condition, ALIGNED), checkerboard, atol=FLOAT32)


def test_an_offset_of_the_whole_window_is_removed():
    condition = conditions()
    generated = resample_onto(condition, OFFSET, (32, 32), "bicubic")
    # the bicubic upsampling of a constant difference is that constant: one pass removes it
    corrected = take_layout(generated, condition, OFFSET)
    assert torch.allclose(take_layout(generated + 0.3, condition, OFFSET), corrected, atol=FLOAT32)


def test_a_window_that_covers_no_whole_condition_pixel_is_refused():
    condition = conditions()
    box = torch.tensor([[0.25, 0.25, 1.75, 1.75]] * 2)  # 1.5 condition pixels, none of them whole
    with pytest.raises(ConfigError, match=r"a window of 32 px covers no whole pixel of its condition"):
        take_layout(torch.zeros((2, 3, 32, 32)), condition, box)
