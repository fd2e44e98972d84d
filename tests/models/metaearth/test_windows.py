import numpy as np
import pytest

from terrasynth.core.errors import ConfigError
from terrasynth.models.metaearth import WindowGrid


@pytest.mark.parametrize(("height", "width"), [(64, 64), (65, 97), (16, 16), (5, 200), (256, 40)])
def test_kept_parts_of_the_windows_tile_the_canvas_exactly(height, width):
    grid = WindowGrid(height, width, 16)
    covered = np.zeros((height, width), dtype=int)
    for row, col in grid.windows():
        r0, r1 = grid.kept_rows(row)
        c0, c1 = grid.kept_cols(col)
        # the kept part lies inside the window, and a quarter is cut wherever windows meet
        assert row * 8 <= r0 <= r1 <= row * 8 + 16 and col * 8 <= c0 <= c1 <= col * 8 + 16
        if 0 < row < grid.rows - 1:
            assert (r0 - row * 8, row * 8 + 16 - r1) == (4, 4)
        covered[r0:r1, c0:c1] += 1
    assert (covered == 1).all()
    assert grid.padded_shape[0] >= height and grid.padded_shape[1] >= width


def test_windows_overlap_by_half():
    grid = WindowGrid(64, 64, 16)
    assert grid.stride == 8 and grid.rows == grid.cols == 7 and grid.padded_shape == (64, 64)


def test_window_rows_for_a_part_of_the_canvas():
    grid = WindowGrid(64, 64, 16)
    assert grid.window_rows_for((0, 64)) == range(7)
    assert grid.window_rows_for((18, 28)) == range(1, 3)  # window row 1 keeps rows 12-19, row 2 rows 20-27
    with pytest.raises(ConfigError):
        WindowGrid(64, 64, 18)
