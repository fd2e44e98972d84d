"""The preview: four panels of one area (two dates, land cover, change) in one PNG."""

import numpy as np
import pytest
from PIL import Image

from terrasynth.core import ConfigError
from terrasynth.ingest.synthetic import preview_grid, render_preview


def test_preview_grid_from_a_centre_or_a_bbox():
    grid = preview_grid(centre=(9.15, 45.8), size=640.0, resolution=16.0)
    assert grid.crs == "EPSG:32632" and grid.resolution == 16.0
    assert grid.shape == (40, 40)
    boxed = preview_grid(bbox=(-70.01, -33.01, -70.0, -33.0), resolution=60.0)
    assert boxed.crs == "EPSG:32719"  # UTM zone 19 south


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({}, "either a bbox"),
        ({"centre": (9.0, 45.0), "bbox": (9, 45, 9.1, 45.1)}, "either a bbox"),
        ({"centre": (9.0, 95.0)}, "outside the UTM zones"),
        ({"centre": (9.0, 45.0), "size": 100_000.0, "resolution": 4.0}, "keep it under"),
        ({"centre": (9.0, 45.0), "resolution": 0.0}, "resolution"),
    ],
)
def test_bad_areas_are_named(arguments, message):
    with pytest.raises(ConfigError, match=message):
        preview_grid(**arguments)


def test_render_preview_writes_the_panels(tmp_path):
    grid = preview_grid(centre=(9.1518, 45.7997), size=480.0, resolution=8.0)
    result = render_preview(tmp_path / "p.png", grid, seed=0, date1="2010-06-01", date2="2030-06-01")
    assert result.path.is_file() and not list(tmp_path.glob(".*partial"))
    with Image.open(result.path) as image:
        assert image.width == 4 * grid.width + 3 * 4 and image.height > grid.height
        pixels = np.asarray(image.convert("RGB"))
    assert 0.0 < result.changed < 1.0
    assert abs(sum(result.landcover.values()) - 1.0) < 1e-9
    magenta = (pixels == [255, 0, 255]).all(axis=-1)
    assert magenta.sum() == round(result.changed * grid.width * grid.height)


def test_a_palette_preview_is_smaller(tmp_path):
    grid = preview_grid(centre=(9.1518, 45.7997), size=256.0, resolution=8.0)
    full = render_preview(tmp_path / "full.png", grid)
    small = render_preview(tmp_path / "small.png", grid, colours=32)
    with Image.open(small.path) as image:
        assert image.mode == "P" and len(image.getcolors()) <= 32
    assert small.path.stat().st_size < full.path.stat().st_size
    with pytest.raises(ConfigError, match="colours"):
        render_preview(tmp_path / "bad.png", grid, colours=1)
