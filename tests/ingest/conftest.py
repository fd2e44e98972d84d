"""Shared fixtures of the ingest tests; the test doubles live in tests/data/ingest/."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "data" / "ingest"))

from make_rasters import write_landcover, write_reflectance


@pytest.fixture(scope="session")
def rasters(tmp_path_factory):
    """(reflectance GeoTIFF, land-cover GeoTIFF), both in EPSG:4326."""
    directory = tmp_path_factory.mktemp("rasters")
    return write_reflectance(directory / "reflectance.tif"), write_landcover(directory / "landcover.tif")
