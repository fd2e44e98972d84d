import pytest
from pattern_source import PatternSource

from terrasynth.core import AreaOfInterest, ConfigError, Level
from terrasynth.core.levels import DEFAULT_LADDER
from terrasynth.ingest.earthengine import DEFAULT_CONCURRENCY, QUOTA_REQUESTS_PER_SECOND, EarthEngineSource
from terrasynth.ingest.plan import estimate_seconds, plan_corpus


def test_plan_counts_tiles_per_level():
    plans = plan_corpus("8.9,45.9,9.3,46.1", "60,16,4", 256)
    by_level = {p.level: p for p in plans}
    assert set(by_level) == {"60m", "16m", "4m"}
    assert by_level["60m"].shape[0] * 60 == by_level["4m"].shape[0] * 4
    for p in plans:
        rows, cols = p.shape
        assert p.tiles == -(-rows // 256) * -(-cols // 256)
        assert p.bytes == rows * cols * (2 * 4 + 2) and p.requests == 0


def test_plan_splits_wide_areas_into_utm_regions():
    plans = plan_corpus("5,10,20,12", "60,16", 256)
    assert len({p.region for p in plans}) == 4 and "EPSG:32634" in {p.crs for p in plans}


def test_earth_engine_plan_counts_requests_and_time_at_the_quota():
    source = EarthEngineSource("2023-06-01", "2023-09-01")
    plans = plan_corpus("8.9,45.9,9.3,46.1", "60,16,4", 256, source)
    assert all(p.requests == p.tiles for p in plans)  # a 256 px tile is one request
    big = plan_corpus("8.9,45.9,9.3,46.1", "60", 2048, source)
    assert big[0].tiles == 1 and big[0].requests == 1
    rate = source.request_rate()
    assert DEFAULT_CONCURRENCY < 40 and 0 < rate <= QUOTA_REQUESTS_PER_SECOND
    assert estimate_seconds(plans, source) == pytest.approx(sum(p.requests for p in plans) / rate)
    assert estimate_seconds(plans, PatternSource()) is None


def test_tiny_tiles_are_refused():
    with pytest.raises(ConfigError, match="--tile-size 8 is too small"):
        plan_corpus("8.9,45.9,9.3,46.1", "60", 8)


@pytest.mark.parametrize("tile_size", [256, 2000])
def test_plan_counts_are_exactly_those_of_enumerating_every_tile(tile_size):
    source = EarthEngineSource("2023-06-01", "2023-09-01")
    area = AreaOfInterest.parse("5.7,45.9,6.3,46.0")
    plans = plan_corpus(area, "60,16,4", tile_size, source)
    grids = {
        (region.name, name): grid
        for region in area.regions()
        for name, grid in region.grids(DEFAULT_LADDER).items()
    }
    assert len(plans) == len(grids) == 3
    for plan in plans:
        grid, level = grids[(plan.region, plan.level)], Level.parse(plan.level)
        per_tile = [source.requests(grid.subgrid(window), level) for window in grid.tiles(tile_size)]
        assert (plan.tiles, plan.requests) == (len(per_tile), sum(per_tile))
    if tile_size == 2000:  # whole 4 m tiles take two requests, clipped ones fewer
        assert {plan.requests > plan.tiles for plan in plans} == {True, False}
