import pytest
import torch

from terrasynth.models.metaearth.area import area_average, area_coverage


def test_fine_pixels_weigh_by_the_area_they_share_with_each_whole_coarse_pixel():
    # 16 m onto 60 m from a quarter of a coarse pixel in: 15 fine pixels span 0.25 .. 4.25
    coverage = area_coverage(15, torch.tensor([0.25]), torch.tensor([4.25]), 5)
    assert (int(coverage.first), int(coverage.last)) == (1, 3)  # pixels 0 and 4 are covered in part
    weights = coverage.weights[0]
    # each whole pixel's weights sum to 1 (float64 sums of fractions: 1e-12); partial ones are 0
    assert weights.sum(dim=1).tolist() == pytest.approx([0, 1, 1, 1, 0], abs=1e-12)
    # fine pixel 2 spans 0.783 .. 1.05: it shares 0.05 coarse pixels with pixel 1
    assert float(weights[1, 2]) == pytest.approx(0.25 + 3 * 16 / 60 - 1, abs=1e-12)


def test_an_image_averages_onto_its_whole_coarse_pixels_and_zero_elsewhere():
    image = torch.arange(8, dtype=torch.float64).repeat(8, 1)[None, None]  # columns 0..7
    rows = area_coverage(8, torch.tensor([0.0]), torch.tensor([2.0]), 2)
    cols = area_coverage(8, torch.tensor([0.5]), torch.tensor([2.5]), 3)
    averaged = area_average(image, rows, cols)[0, 0]
    assert averaged.shape == (2, 3)
    # coarse column 1 is fine columns 2..5 (mean 3.5); columns 0 and 2 are covered in part
    assert averaged[:, 1].tolist() == [3.5, 3.5] and averaged[:, [0, 2]].abs().max() == 0


def test_a_span_inside_one_coarse_pixel_covers_none_whole():
    coverage = area_coverage(3, torch.tensor([0.2]), torch.tensor([0.8]), 1)
    assert (int(coverage.first), int(coverage.last)) == (1, -1) and coverage.weights.abs().max() == 0
