import numpy as np
import pytest

from terrasynth.core import ConfigError
from terrasynth.ingest.split import REQUEST_BYTE_LIMIT, REQUEST_MAX_SIDE, request_count, split_window


def covered(shape, windows):
    """Whether the windows cover every pixel of ``shape`` exactly once."""
    count = np.zeros(shape, dtype=np.uint8)
    for w in windows:
        count[w.row_off : w.row_off + w.height, w.col_off : w.col_off + w.width] += 1
    return bool((count == 1).all())


def test_a_small_tile_is_one_request():
    assert request_count((256, 256), 18) == 1


@pytest.mark.parametrize("shape, bytes_per_pixel", [((4096, 4096), 18), ((3000, 5000), 6), ((1, 70000), 1)])
def test_requests_respect_both_limits_and_cover_the_grid_once(shape, bytes_per_pixel):
    windows = split_window(shape, bytes_per_pixel)
    assert len(windows) > 1
    for w in windows:
        assert w.width * w.height * bytes_per_pixel <= REQUEST_BYTE_LIMIT
        assert max(w.width, w.height) <= REQUEST_MAX_SIDE
    assert covered(shape, windows)


def test_small_limits_split_evenly():
    windows = split_window((64, 64), 2, byte_limit=2 * 512)
    assert len(windows) == 8 and {(w.height, w.width) for w in windows} == {(16, 32)}
    assert covered((64, 64), windows)


def test_a_pixel_larger_than_a_request_is_refused():
    with pytest.raises(ConfigError, match="exceeds the request limit"):
        split_window((1, 1), 100, byte_limit=10)
