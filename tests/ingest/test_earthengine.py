"""The Earth Engine source on the real ee (and xee) code, answered by a fake at the HTTP boundary."""

import dataclasses
import functools
import importlib
import json
import re
import sys
from concurrent.futures import ThreadPoolExecutor

import cloudpickle
import fake_ee_catalogue
import numpy as np
import pytest
import xarray as xr
from corpus_bytes import assert_same_corpus
from fake_earthengine import calls, compute, constant, fake_earth_engine

from terrasynth.core import DEFAULT_LADDER, DYNAMIC_WORLD, AreaOfInterest, Level, SourceError, open_corpus
from terrasynth.ingest import catalog, earthengine
from terrasynth.ingest.earthengine import EarthEngineSource
from terrasynth.ingest.retry import Backoff
from terrasynth.ingest.split import split_window
from terrasynth.ingest.writer import CorpusWriter, write_tiles

AOI = "9.0,45.0,9.02,45.01"
FAST = Backoff(initial=0.001, max_delay=0.01, attempts=4)
GRIDS = AreaOfInterest.parse(AOI).regions()[0].grids(DEFAULT_LADDER)


def tile(level: str, size=64):
    grid = GRIDS[level]
    return grid.subgrid(next(grid.tiles(size)))


def loaded(tree) -> set[str]:
    return {constant(args["id"]) for args in calls(tree, "ImageCollection.load")}


def date_ranges(tree) -> set[tuple[str, str]]:
    return {(constant(args["start"]), constant(args["end"])) for args in calls(tree, "DateRange")}


def test_a_sentinel2_tile_request(tmp_path):
    source = EarthEngineSource("2023-06-01", "2023-09-01", backoff=FAST)
    grid = tile("16m")
    with fake_earth_engine() as server:
        source.setup()
        ds = source.read(grid, Level(16.0))
    (request,) = server.requests
    tree = request.expression
    assert request.grid == grid and request.file_format == "NPY"
    assert loaded(tree) == {
        "COPERNICUS/S2_SR_HARMONIZED",
        "GOOGLE/CLOUD_SCORE_PLUS/V1/S2_HARMONIZED",
        "ESA/WorldCover/v200",
    }
    assert date_ranges(tree) == {("2023-06-01", "2023-09-01")}
    selects = [args for args in calls(tree, "Image.select") if "newNames" in args]
    assert {(tuple(constant(a["bandSelectors"])), tuple(constant(a["newNames"]))) for a in selects} == {
        (("B2", "B3", "B4", "B8"), catalog.COMMON_BANDS)
    }
    links = list(calls(tree, "Image.linkCollection"))
    assert links and all(loaded(link["imageCollection"]) == {catalog.CLOUD_SCORE_PLUS} for link in links)
    assert all(constant(link["linkedBands"]) == ["cs_cdf"] for link in links)
    cloud_mask = [
        args
        for args in calls(tree, "Image.gte")
        if any(constant(s["bandSelectors"]) == ["cs_cdf"] for s in calls(args["image1"], "Image.select"))
    ]
    assert cloud_mask and all(
        constant(args["image2"]["functionInvocationValue"]["arguments"]["value"]) == 0.6
        for args in cloud_mask
    )
    assert len(list(calls(tree, "reduce.median"))) >= 1
    # 16 m is coarser than the 10 m products: reflectance averaged, classes by mode.
    reducers = set().union(*(_reducers(args["reducer"]) for args in calls(tree, "Image.reduceResolution")))
    assert reducers == {"Reducer.mean", "Reducer.mode"}
    assert not list(calls(tree, "Image.resample"))

    expected = compute(request.graph, request.grid)
    np.testing.assert_array_equal(ds.image.values, np.stack([expected[b] for b in catalog.COMMON_BANDS]))
    np.testing.assert_array_equal(ds.landcover.values, expected["landcover"])
    np.testing.assert_array_equal(ds.valid.values, expected["valid"] > 0)
    assert set(np.unique(ds.landcover.values)) <= {10, 30, 40, 50, 80} and ds.valid.values.all()
    assert 200 < ds.image.values[3].mean() < 3500  # near-infrared reflectance x 1e4 of the blocks
    assert ds.attrs == {"requests": 1, "retries": 0, "splits": 0}


def _reducers(node) -> set[str]:
    return {name for name in ("Reducer.mean", "Reducer.mode") if any(True for _ in calls(node, name))}


def test_landsat_nicfi_dynamic_world_and_buildings():
    source = EarthEngineSource(
        "2023-06-01",
        "2023-09-01",
        imagery="landsat",
        fine_imagery="nicfi",
        landcover="dynamicworld",
        buildings=True,
    )
    assert source.classes == DYNAMIC_WORLD
    with fake_earth_engine() as server:
        source.setup()
        source.read(tile("60m", 16), Level(60.0))
        source.read(tile("4m"), Level(4.0))
    coarse, fine = (request.expression for request in server.requests)
    landcover = {"GOOGLE/DYNAMICWORLD/V1", "GOOGLE/Research/open-buildings-temporal/v1"}
    assert loaded(coarse) == {"LANDSAT/LC08/C02/T1_L2", "LANDSAT/LC09/C02/T1_L2", *landcover}
    assert loaded(fine) == {*catalog.NICFI.collections, *landcover}
    assert date_ranges(coarse) == {("2023-06-01", "2023-09-01"), ("2023-01-01", "2024-01-01")}
    (qa,) = {json.dumps(args) for args in calls(coarse, "Image.bitwiseAnd")}
    assert '"QA_PIXEL"' in qa and '"constantValue": 31' in qa
    scales = [_constant_image(args["image2"]) for args in calls(coarse, "Image.multiply")]
    offsets = [_constant_image(args["image2"]) for args in calls(coarse, "Image.add")]
    assert pytest.approx(2.75e-5 * 1e4) in scales and pytest.approx(-0.2 * 1e4) in offsets
    assert 1 in offsets  # Dynamic World labels stored + 1
    modes = [
        args
        for args in calls(coarse, "ImageCollection.reduce")
        if "Reducer.mode" in _reducers(args["reducer"])
    ]
    assert modes and "label" in json.dumps(modes)
    assert '"constantValue": 7' in json.dumps(list(calls(coarse, "Image.where")))  # built-up in Dynamic World
    # NICFI's 4.77 m Web Mercator pixels are 3.4 m on the ground at 45 N: 4 m is coarser, so averaged.
    assert not list(calls(fine, "Image.resample"))
    reducers = set().union(*(_reducers(args["reducer"]) for args in calls(fine, "Image.reduceResolution")))
    assert reducers == {"Reducer.mean"}  # land cover (10 m) is finer than 4 m: sampled as it is


def _constant_image(node):
    invocation = node.get("functionInvocationValue", {})
    return (
        constant(invocation.get("arguments", {}).get("value"))
        if invocation.get("functionName") == "Image.constant"
        else None
    )


def test_a_tile_over_the_request_limit_is_split(monkeypatch):
    source = EarthEngineSource("2023-06-01", "2023-09-01", backoff=FAST)
    grid = tile("16m")
    with fake_earth_engine() as server:
        source.setup()
        whole = source.read(grid, Level(16.0))
        limit = earthengine.BYTES_PER_VALUE * len(earthengine._TRANSFER_BANDS) * 512  # 512 pixels a request
        monkeypatch.setattr(earthengine, "split_window", functools.partial(split_window, byte_limit=limit))
        split = source.read(grid, Level(16.0))
    assert split.attrs["requests"] == 8 and len(server.requests) == 9
    assert all(r.grid.height * r.grid.width <= 512 for r in server.requests[1:])
    xr.testing.assert_identical(split.drop_attrs(), whole.drop_attrs())


def ingest(path, source, **fake_options):
    writer = CorpusWriter(path, AreaOfInterest.parse(AOI), "60,16", source, tile_size=32)
    with fake_earth_engine(**fake_options) as server:
        source.setup()
        results = []
        with ThreadPoolExecutor(4) as executor:
            write_tiles(writer, writer.open(), executor, on_result=results.append)
    writer.finish()
    return server, results


def test_transient_faults_are_retried_and_change_nothing(tmp_path):
    faults = [429, 500, "timeout", 503, 429]
    # Faults go to requests in arrival order across four threads, so one tile may draw them all:
    # one attempt more than there are faults means no tile can give up, however threads interleave.
    patient = Backoff(initial=0.001, max_delay=0.01, attempts=len(faults) + 1)
    source = EarthEngineSource("2023-06-01", "2023-09-01", backoff=patient)
    clean, _ = ingest(tmp_path / "clean.zarr", source)
    faulty, results = ingest(tmp_path / "faulty.zarr", source, faults=faults)
    assert len(faulty.requests) == len(clean.requests) + len(faults) == 13 + 5
    assert sum(r.retries for r in results) == 5 and sum(r.requests for r in results) == 18
    assert_same_corpus(tmp_path / "clean.zarr", tmp_path / "faulty.zarr")
    assert open_corpus(tmp_path / "faulty.zarr").attrs["source"]["cloud_mask"]["min"] == 0.6


def test_a_permanent_error_stops_with_one_line_naming_the_tile(tmp_path):
    source = EarthEngineSource("2023-06-01", "2023-09-01", backoff=FAST)
    writer = CorpusWriter(tmp_path / "c.zarr", AreaOfInterest.parse(AOI), "60", source, tile_size=32)
    with fake_earth_engine(permanent=400) as server:
        source.setup()
        with pytest.raises(SourceError) as raised, ThreadPoolExecutor(1) as executor:
            write_tiles(writer, writer.open(), executor)
    message = str(raised.value)
    assert "\n" not in message
    origin = writer.grids[("r00_utm32n", "60m")].transform
    left, top = origin.c, origin.f
    assert message.startswith(
        f"tile r00_utm32n/60m row 0 col 0: Earth Engine refused the 60m tile at x={left:.0f} m, y={top:.0f} m"
    )
    assert message.endswith("(HTTP 400: injected HTTP 400)")
    assert len(server.requests) == 1  # not retried
    assert open_corpus(tmp_path / "c.zarr", allow_incomplete=True).attrs["status"] == "incomplete"


def test_an_unknown_band_is_the_servers_400_and_is_not_retried():
    source = EarthEngineSource("2023-06-01", "2023-09-01", backoff=FAST)
    source.imagery = dataclasses.replace(catalog.SENTINEL2, bands=("B2", "B3", "B4", "B99"))
    with fake_earth_engine() as server, pytest.raises(SourceError) as raised:
        source.setup()
        source.read(tile("16m"), Level(16.0))
    assert str(raised.value).startswith(
        "Earth Engine refused the 16m tile at x=499920 m, y=4984080 m (EPSG:32632) "
        "(HTTP 400: Image.select: Pattern 'B99' did not match any bands."
    )
    assert len(server.requests) == 1


def test_a_quota_that_never_recovers_gives_up_after_the_last_attempt():
    source = EarthEngineSource("2023-06-01", "2023-09-01", backoff=FAST)
    with (
        fake_earth_engine(faults=[429] * 10) as server,
        pytest.raises(SourceError, match=r"still refuses .* after 4 attempt\(s\) in \d+ s \(HTTP 429"),
    ):
        source.setup()
        source.read(tile("60m", 16), Level(60.0))
    assert len(server.requests) == FAST.attempts


def test_a_tile_is_read_where_xee_is_not_installed(monkeypatch):
    """xee is in the dev group only: ``pip install terrasynth`` reads Earth Engine without it."""
    monkeypatch.setitem(sys.modules, "xee", None)  # `import xee` now raises ImportError
    monkeypatch.delitem(sys.modules, "terrasynth.ingest.earthengine")
    monkeypatch.setattr("terrasynth.ingest.earthengine", earthengine)  # the other tests get it back
    fresh = importlib.import_module("terrasynth.ingest.earthengine")
    assert fresh is not earthengine
    source = fresh.EarthEngineSource("2023-06-01", "2023-09-01", backoff=FAST)
    with fake_earth_engine():
        source.setup()
        ds = source.read(tile("16m"), Level(16.0))
    assert ds.image.shape == (len(catalog.COMMON_BANDS), 64, 64)


def test_the_tile_equals_a_plain_xee_read_of_the_same_grid():
    source = EarthEngineSource("2023-06-01", "2023-09-01", backoff=FAST)
    grid, level = tile("16m"), Level(16.0)
    with fake_earth_engine() as server:
        source.setup()
        ours = source.read(grid, level)
        image = source.expression(grid, level)
        theirs = (
            xr.open_dataset(
                earthengine.ee.ImageCollection([image]),
                engine="ee",
                crs=grid.crs,
                crs_transform=tuple(grid.transform)[:6],
                shape_2d=(grid.width, grid.height),
            )
            .isel(time=0)
            .load()
        )
    assert len(server.values) == 1  # xee's metadata call
    np.testing.assert_allclose(theirs.x.values, ours.x.values)
    np.testing.assert_allclose(theirs.y.values, ours.y.values)
    for i, band in enumerate(catalog.COMMON_BANDS):
        np.testing.assert_array_equal(theirs[band].values, ours.image.values[i])
    np.testing.assert_array_equal(theirs.landcover.values, ours.landcover.values)
    np.testing.assert_array_equal(theirs.valid.values > 0, ours.valid.values)


def test_missing_credentials_are_named(tmp_path, monkeypatch):
    for variable in ("GOOGLE_APPLICATION_CREDENTIALS", "CLOUDSDK_CONFIG", "EE_PROJECT"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("NO_GCE_CHECK", "True")
    with pytest.raises(
        SourceError, match=r"^no Earth Engine credentials found: run `earthengine authenticate`"
    ):
        EarthEngineSource("2023-06-01", "2023-09-01").setup()
    with pytest.raises(SourceError, match=r"service-account key file .*key.json does not exist"):
        EarthEngineSource("2023-06-01", "2023-09-01", service_account_key=tmp_path / "key.json").setup()
    (tmp_path / "key.json").write_text("{}")
    with pytest.raises(SourceError, match=r"is not a service-account key"):
        EarthEngineSource("2023-06-01", "2023-09-01", service_account_key=tmp_path / "key.json").setup()


def test_provenance_names_products_and_never_credentials(tmp_path):
    source = EarthEngineSource(
        "2023-06-01", "2023-09-01", project="my-project", service_account_key=tmp_path / "k.json"
    )
    text = json.dumps(source.describe())
    assert "COPERNICUS/S2_SR_HARMONIZED" in text and "cs_cdf" in text and "median" in text
    assert "k.json" not in text and "my-project" not in text


def test_the_source_travels_to_workers_without_credentials(tmp_path):
    key = tmp_path / "key.json"
    key.write_text(
        json.dumps({"client_email": "a@b.iam.gserviceaccount.com", "private_key": "SECRET-KEY-MATERIAL"})
    )
    source = EarthEngineSource("2023-06-01", "2023-09-01", service_account_key=key, project="p")
    writer = CorpusWriter(tmp_path / "c.zarr", AreaOfInterest.parse(AOI), "60", source)
    for shipped in (cloudpickle.dumps(source), cloudpickle.dumps(writer)):
        assert b"SECRET-KEY-MATERIAL" not in shipped and b"client_email" not in shipped


def test_setup_applies_its_settings_when_ee_is_already_initialised():
    # fake_earth_engine initialises ee as a notebook's ee.Initialize() would, with project my-project.
    source = EarthEngineSource("2023-06-01", "2023-09-01", project="mine", request_timeout=12.0, backoff=FAST)
    with fake_earth_engine() as server:
        assert earthengine.ee.data.is_initialized()
        source.setup()
        source.read(tile("60m", 16), Level(60.0))
        state = earthengine.ee.data._get_state()
        assert state.cloud_api_base_url == earthengine.ee.data.HIGH_VOLUME_API_BASE_URL
        assert state.deadline_ms == 12000.0 and state.max_retries == 0
    assert server.headers[-1]["X-Goog-User-Project"] == "mine"


@pytest.mark.parametrize(
    "options, cause",
    [
        (
            {"faults": ["refresh"]},
            r"Earth Engine credentials were refused while fetching the 60m tile at x=\d+ m",
        ),
        (
            {"answer": lambda request: {"landcover": np.zeros(request.grid.shape, np.uint16)}},
            r"Earth Engine answered the 60m tile at .* with bands \['landcover'\] \(16, 16\), expected \['blue'",
        ),
        (
            {"compute_limit": 1},
            r"Earth Engine still cannot compute the 60m tile at .* at 8 x 8 px \(HTTP 400: ",
        ),
    ],
    ids=["refresh-error", "band-mismatch", "always-too-heavy"],
)
def test_earth_engine_failures_are_one_line_source_errors_naming_the_tile(tmp_path, options, cause):
    source = EarthEngineSource("2023-06-01", "2023-09-01", backoff=FAST)
    writer = CorpusWriter(tmp_path / "c.zarr", AreaOfInterest.parse(AOI), "60", source, tile_size=16)
    with fake_earth_engine(**options):
        source.setup()
        with pytest.raises(SourceError) as raised, ThreadPoolExecutor(1) as executor:
            write_tiles(writer, writer.open(), executor)
    message = str(raised.value)
    assert "\n" not in message and message.startswith("tile r00_utm32n/60m row 0 col 0: ")
    assert re.search(cause, message), message


def test_a_request_that_cannot_be_built_is_a_source_error(monkeypatch):
    def uninitialised(*args, **kwargs):  # what the client raises in a process where ee is not initialised
        raise earthengine.ee.EEException(
            "Earth Engine client library not initialized. See http://goo.gle/ee-auth."
        )

    monkeypatch.setattr(earthengine.ee.Geometry, "Rectangle", uninitialised)
    source = EarthEngineSource("2023-06-01", "2023-09-01", backoff=FAST)
    with pytest.raises(SourceError) as raised:
        source.read(tile("60m", 16), Level(60.0))
    assert str(raised.value).startswith(
        "cannot build the Earth Engine request of the 60m tile at x=499920 m, y=4984080 m (EPSG:32632) "
        "(Earth Engine client library not initialized."
    )


@pytest.mark.parametrize(
    "too_heavy",
    [{"compute_limit": 16 * 16}, {"faults": ["User memory limit exceeded."]}],
    ids=["computation-timed-out", "memory-limit"],
)
def test_a_computation_timeout_succeeds_after_a_split(too_heavy):
    source = EarthEngineSource("2023-06-01", "2023-09-01", backoff=FAST)
    grid = tile("16m", 32)
    with fake_earth_engine() as server:
        source.setup()
        whole = source.read(grid, Level(16.0))
    with fake_earth_engine(**too_heavy) as server:
        source.setup()
        split = source.read(grid, Level(16.0))
    assert split.attrs == {"requests": 5, "retries": 0, "splits": 1}
    assert [r.grid.shape for r in server.requests] == [(32, 32)] + [(16, 16)] * 4
    xr.testing.assert_identical(split.drop_attrs(), whole.drop_attrs())


def test_a_tile_that_never_answers_gives_up_at_its_time_limit():
    patient = Backoff(initial=0.1, factor=1.0, max_delay=0.1, attempts=99)  # 99 attempts: 9.9 s of waits
    source = EarthEngineSource("2023-06-01", "2023-09-01", backoff=patient, tile_time_limit=0.5)
    with (
        fake_earth_engine(faults=["timeout"] * 99) as server,
        pytest.raises(
            SourceError, match=r"did not answer the 60m tile .* in \d+ attempt\(s\) and \d+ s \(TimeoutError"
        ),
    ):
        source.setup()
        source.read(tile("60m", 16), Level(60.0))
    # without the time limit it would make all 99 attempts (9.9 s of waits)
    assert len(server.requests) < patient.attempts


def test_splitting_stops_at_the_tile_time_limit():
    source = EarthEngineSource("2023-06-01", "2023-09-01", backoff=FAST, tile_time_limit=0.0)
    with (
        fake_earth_engine(compute_limit=1) as server,
        pytest.raises(
            SourceError, match=r"^Earth Engine took more than the tile time limit of 0 s on the 60m tile"
        ),
    ):
        source.setup()
        source.read(tile("60m", 16), Level(60.0))
    assert len(server.requests) == 1


@pytest.mark.parametrize("level, reach", [("60m", 2), ("16m", 6)])
def test_a_landsat_tile_registers_with_the_land_cover(level, reach):
    """Landsat Collection 2 pixel corners sit at 15 m mod 30: read on its own grid, the composite's
    block edges fall where the land cover's do, to a tenth of a pixel, whether averaged (60 m) or
    interpolated (16 m); a 30 m grid on the CRS origin would shift them by 15 m. ``reach``: pixels
    either side of an edge that hold all of its transition."""
    gsd = Level.parse(level).gsd
    source = EarthEngineSource("2023-06-01", "2023-09-01", imagery="landsat", backoff=FAST)
    grid = tile(level, 32)
    with fake_earth_engine():
        source.setup()
        ds = source.read(grid, Level(gsd))
    x, y = grid.coords()
    red, landcover = ds.image.sel(band="red").values.astype(float), ds.landcover.values
    block, offsets = fake_ee_catalogue.BLOCK_M, []
    for row in np.flatnonzero((y % block > 60) & (y % block < 180)):  # clear of the blocks' top and bottom
        for col in range(reach - 1, len(x) - reach):
            if landcover[row, col] == landcover[row, col + 1]:
                continue
            boundary = x[col] + gsd / 2
            assert boundary % block == 0  # the land cover changes where the blocks do
            window = red[row, col - reach + 1 : col + reach + 1]
            a, b = window[0], window[-1]  # pure pixels either side
            if abs(b - a) < 100:
                continue
            # Where the composite puts the edge: the window's right end less the share of ``b`` in it.
            offsets.append(gsd * (reach - np.clip((window - a) / (b - a), 0, 1).sum()))
    assert len(offsets) > 10
    assert np.abs(offsets).max() < gsd / 10, offsets


def test_saturated_landsat_pixels_are_left_out():
    source = EarthEngineSource("2023-06-01", "2023-09-01", imagery="landsat", backoff=FAST)
    with fake_earth_engine():
        source.setup()
        ds = source.read(tile("60m", 32), Level(60.0))
    built = ds.landcover.values == 50
    assert built.any()
    # Landsat 9 saturates its blue band over built-up blocks; QA_RADSAT leaves those pixels out.
    assert ds.image.sel(band="blue").values[built].max() < 1500  # built-up blue reflectance is 0.12
