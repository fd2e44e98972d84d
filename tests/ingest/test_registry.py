import datetime as dt

import pytest

from terrasynth.core import ConfigError, SourceError
from terrasynth.ingest import registry
from terrasynth.ingest.dates import DateRange
from terrasynth.ingest.earthengine import EarthEngineSource
from terrasynth.ingest.local import LocalSource


def test_sources_are_found_by_name(rasters):
    assert registry.source_class("local") is LocalSource
    source = registry.make_source("earthengine", start="2023-06-01", end="2023-09-01", imagery="landsat")
    assert isinstance(source, EarthEngineSource) and source.imagery.name == "landsat"
    assert set(registry.SOURCES) == {"earthengine", "local", "synthetic"}


def test_an_unknown_source_is_named():
    with pytest.raises(
        ConfigError, match="unknown source 'sentinel': choose one of earthengine, local, synthetic"
    ):
        registry.make_source("sentinel")


def test_a_source_missing_from_the_installation_is_named(monkeypatch):
    monkeypatch.setitem(registry.SOURCES, "synthetic", "terrasynth.ingest.no_such_module:SyntheticSource")
    with pytest.raises(SourceError, match="the synthetic source is not part of this installation"):
        registry.make_source("synthetic", seed=0)


@pytest.mark.parametrize(
    "start, end, message",
    [
        ("2023-13-01", "2023-09-01", "--start '2023-13-01' is not a date: write YYYY-MM-DD"),
        ("2023-06-01", "June", "--end 'June' is not a date"),
        ("2023-06-01", "2023-06-01", "--end 2023-06-01 must be after --start 2023-06-01"),
    ],
)
def test_bad_dates_are_named(start, end, message):
    with pytest.raises(ConfigError, match=message):
        DateRange.parse(start, end)


def test_dates_parse():
    assert DateRange.parse("2023-06-01", dt.date(2023, 9, 1)).to_json() == {
        "start": "2023-06-01",
        "end": "2023-09-01",
    }


@pytest.mark.parametrize(
    "options, message",
    [
        ({"imagery": "modis"}, "unknown imagery 'modis': choose one of sentinel2, landsat, nicfi, naip"),
        ({"landcover": "corine"}, "unknown land cover 'corine'"),
        ({"cloud_threshold": 1.5}, r"--cloud-threshold 1.5 must lie in \[0, 1\]"),
        ({"concurrency": 0}, "--concurrency 0 must be at least 1"),
    ],
)
def test_bad_earth_engine_settings_are_named(options, message):
    with pytest.raises(ConfigError, match=message):
        EarthEngineSource("2023-06-01", "2023-09-01", **options)
