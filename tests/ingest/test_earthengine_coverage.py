"""The Earth Engine source where the catalogue has gaps: areas and dates a product does not cover,
NICFI's mosaic periods, NAIP's units and its older RGB-only years. Real ``ee`` client code, the
fake server evaluating each expression against its catalogue (tests/data/ingest/fake_ee_*.py)."""

import json
import re
from concurrent.futures import ThreadPoolExecutor

import pytest
from fake_earthengine import calls, constant, fake_earth_engine

from terrasynth.core import AreaOfInterest, Level, SourceError, open_corpus
from terrasynth.core.levels import parse_levels
from terrasynth.core.manifest import TileManifest
from terrasynth.ingest import catalog
from terrasynth.ingest.earthengine import EarthEngineSource
from terrasynth.ingest.retry import Backoff
from terrasynth.ingest.writer import CorpusWriter, write_tiles
from terrasynth.workflows.ingest import run_ingest

FAST = Backoff(initial=0.001, max_delay=0.01, attempts=4)
ACROSS_NICFI_EDGE = "30.0,29.998,30.004,30.002"
"""400 m across 30 N, where NICFI's coverage ends."""
NICFI_GAP = "57.0,0.0,57.004,0.004"
"""Between NICFI's Africa and Asia basemaps."""
IOWA = "-93.6,42.0,-93.596,42.004"


def first_tile(aoi: str, level: str, size: int = 32):
    grid = AreaOfInterest.parse(aoi).regions()[0].grids([Level.parse(level)])[level]
    return grid.subgrid(next(grid.tiles(size)))


def test_tiles_outside_nicfi_are_written_as_no_data_and_the_corpus_completes(tmp_path):
    source = EarthEngineSource("2023-06-01", "2023-09-01", fine_imagery="nicfi", backoff=FAST)
    out = tmp_path / "c.zarr"
    with fake_earth_engine() as server:
        summary = run_ingest(
            source, ACROSS_NICFI_EDGE, out, levels="16,4", tile_size=32, scheduler="threads", progress=False
        )
    tree = open_corpus(out)
    assert tree.attrs["status"] == "complete"
    reason = "no nicfi image between 2023-06-01 and 2023-09-01"
    empty = TileManifest(out).no_data()
    assert empty and set(empty.values()) == {reason} and {key[1] for key in empty} == {"4m"}
    level = summary.levels["4m"]
    assert level.no_data == {reason: len(empty)} and len(empty) < level.total
    stac = json.loads((tmp_path / "c.zarr.stac" / "collection.json").read_text())
    assert stac["terrasynth"]["no_data_tiles"] == {"4m": {reason: len(empty)}}
    (region,) = tree.children
    fine = tree[f"{region}/4m"].to_dataset()
    for _, _, row, col in empty:  # all not valid, all zero
        window = {"y": slice(row * 32, row * 32 + 32), "x": slice(col * 32, col * 32 + 32)}
        assert not fine.valid[window].values.any() and not fine.image[{"band": 0, **window}].values.any()
    assert fine.valid.values.any()  # south of 30 N the mosaics are there
    assert len(server.requests) == summary.written


def test_nicfi_outside_its_coverage_is_refused_before_any_tile(tmp_path):
    source = EarthEngineSource("2023-06-01", "2023-09-01", fine_imagery="nicfi", backoff=FAST)
    with fake_earth_engine() as server, pytest.raises(SourceError) as raised:
        run_ingest(
            source,
            "9.0,45.0,9.01,45.01",
            tmp_path / "c.zarr",
            levels="16,4",
            scheduler="threads",
            progress=False,
        )
    message = str(raised.value)
    assert message.startswith("--fine-imagery nicfi has no image over the area 9.0000,45.0000,9.0100,45.0100")
    assert "\n" not in message and not server.requests and not (tmp_path / "c.zarr").exists()


def test_a_level_whose_product_has_no_image_over_the_area_is_refused_before_any_tile(tmp_path):
    source = EarthEngineSource("2023-06-01", "2023-09-01", fine_imagery="nicfi", backoff=FAST)
    with fake_earth_engine() as server, pytest.raises(SourceError) as raised:
        run_ingest(source, NICFI_GAP, tmp_path / "c.zarr", levels="16,4", scheduler="threads", progress=False)
    assert str(raised.value).startswith(
        "no nicfi image over the area between 2023-06-01 and 2023-09-01 (end excluded), so levels 4m would hold no data"
    )
    assert not server.requests and not (tmp_path / "c.zarr").exists()
    (sizes,) = [v for v in server.values if "Collection.size" in json.dumps(v)][-1:]
    assert "Collection.size" in json.dumps(sizes)


def test_sentinel2_before_2017_is_refused_before_any_tile(tmp_path):
    source = EarthEngineSource("2015-06-01", "2015-09-01", backoff=FAST)
    with (
        fake_earth_engine() as server,
        pytest.raises(SourceError, match=r"^no sentinel2 image over the area between 2015-06-01"),
    ):
        run_ingest(
            source,
            "9.0,45.0,9.01,45.01",
            tmp_path / "c.zarr",
            levels="60",
            scheduler="threads",
            progress=False,
        )
    assert not server.requests


def test_buildings_outside_open_buildings_are_refused_before_any_tile(tmp_path):
    source = EarthEngineSource("2023-06-01", "2023-09-01", buildings=True, backoff=FAST)
    with fake_earth_engine() as server, pytest.raises(SourceError) as raised:
        run_ingest(
            source,
            "9.0,45.0,9.01,45.01",
            tmp_path / "c.zarr",
            levels="60",
            scheduler="threads",
            progress=False,
        )
    assert str(raised.value) == (
        "no Open Buildings image of 2023 over the area between 2023-06-01 and 2023-09-01 (end excluded), so the "
        "land cover would hold no buildings: choose other --start/--end or drop --buildings"
    )
    assert not server.requests


def test_a_date_range_inside_a_nicfi_period_finds_its_mosaic():
    grid = first_tile("30.0,0.0,30.004,0.004", "4m")
    # July-August 2019 holds no period start: the mosaic of June-November 2019 covers it.
    for start, end in (("2019-07-01", "2019-09-01"), ("2021-03-10", "2021-03-20")):
        source = EarthEngineSource(start, end, fine_imagery="nicfi", backoff=FAST)
        with fake_earth_engine() as server:
            source.setup()
            ds = source.read(grid, Level(4.0))
        assert "no_data" not in ds.attrs and ds.valid.values.all()
        assert 200 < ds.image.values[3].mean() < 3500  # near-infrared reflectance x 1e4
        # At the equator a NICFI pixel is 4.77 m on the ground: 4 m is finer, so interpolated.
        (request,) = server.requests
        assert {constant(a["mode"]) for a in calls(request.expression, "Image.resample")} == {"bilinear"}


def test_nicfi_access_is_checked_in_setup():
    source = EarthEngineSource("2023-06-01", "2023-09-01", fine_imagery="nicfi")
    with fake_earth_engine(denied=catalog.NICFI.collections), pytest.raises(SourceError) as raised:
        source.setup()
    message = str(raised.value)
    assert message.startswith("this Earth Engine account cannot read the NICFI basemaps (")
    assert "caller does not have access" in message and "https://www.planet.com/nicfi/" in message


def test_naip_levels_are_digital_numbers_and_say_so(tmp_path):
    source = EarthEngineSource("2021-01-01", "2022-01-01", fine_imagery="naip", backoff=FAST)
    out = tmp_path / "c.zarr"
    writer = CorpusWriter(out, AreaOfInterest.parse(IOWA), "16,4", source, tile_size=64)
    with fake_earth_engine():
        source.setup()
        with ThreadPoolExecutor(2) as executor:
            write_tiles(writer, writer.open(), executor)
    writer.finish()
    tree = open_corpus(out)
    region = next(iter(tree.children))
    fine, coarse = tree[f"{region}/4m"].to_dataset(), tree[f"{region}/16m"].to_dataset()
    assert fine.image.attrs["units"] == "digital number (8-bit, 0-255; not reflectance)"
    assert coarse.image.attrs["units"] == "1" and coarse.image.attrs["reflectance_scale"] == 1e-4
    assert fine.valid.values.mean() > 0.5 and 0 < fine.image.values.max() <= 255
    stac = json.loads((tmp_path / "c.zarr.stac" / "collection.json").read_text())["terrasynth"]
    assert stac["image"]["4m"]["units"].startswith("digital number") and stac["image"]["16m"]["units"] == "1"
    assert stac["source"]["fine_imagery"]["units"].startswith("digital number")


def test_older_rgb_only_naip_gives_no_data_not_a_band_error():
    source = EarthEngineSource("2005-01-01", "2006-01-01", fine_imagery="naip", backoff=FAST)
    with fake_earth_engine() as server:
        source.setup()
        ds = source.read(first_tile(IOWA, "4m"), Level(4.0))
    assert ds.attrs["no_data"] == "no naip image with a N band between 2005-01-01 and 2006-01-01"
    assert not ds.valid.values.any() and len(server.requests) == 1


def test_a_region_without_images_is_a_warning():
    # Maine's coast ends at 66.9 W: the second area, off the coast at 65.5 W, has no NAIP image.
    area = (
        "MULTIPOLYGON(((-67.5 44.8, -67.49 44.8, -67.49 44.81, -67.5 44.81, -67.5 44.8)),"
        "((-65.5 44.8, -65.49 44.8, -65.49 44.81, -65.5 44.81, -65.5 44.8)))"
    )
    source = EarthEngineSource("2021-01-01", "2022-01-01", fine_imagery="naip")
    with fake_earth_engine() as server:
        source.setup()
        warnings = source.check_coverage(AreaOfInterest.parse(area), parse_levels("16,4"))
    assert warnings == [
        "region r01_utm20n: no naip image with a N band between 2021-01-01 and 2022-01-01 (end excluded); "
        "its 4m tiles will be written as no data"
    ]
    assert len(server.values) == 2 and not server.requests  # one count request per region


def test_dry_run_counts_images_and_refuses_a_range_with_none(capsys, tmp_path):
    from terrasynth.workflows.cli import main

    base = [
        "ingest",
        "--source",
        "earthengine",
        "--aoi",
        "9.0,45.0,9.01,45.01",
        "--dry-run",
        "--levels",
        "60",
    ]
    with fake_earth_engine() as server:
        with pytest.raises(SystemExit) as exit:
            main([*base, "--start", "2023-06-01", "--end", "2023-09-01", "--out", str(tmp_path / "c.zarr")])
        assert exit.value.code == 0
        assert "Coverage checked: every collection has images" in capsys.readouterr().out
        with pytest.raises(SystemExit) as exit:
            main([*base, "--start", "2015-06-01", "--end", "2015-09-01", "--out", str(tmp_path / "c.zarr")])
    assert exit.value.code == 2
    err = capsys.readouterr().err
    assert (
        err.startswith("terrasynth: error: no sentinel2 image over the area between 2015-06-01")
        and err.count("\n") == 1
    )
    assert not server.requests and not (tmp_path / "c.zarr").exists()


def test_the_ingest_summary_counts_tiles_without_data(capsys, tmp_path):
    from terrasynth.workflows.cli import main

    args = ["ingest", "--source", "earthengine", "--aoi", ACROSS_NICFI_EDGE, "--start", "2023-06-01"]
    args += ["--end", "2023-09-01", "--fine-imagery", "nicfi", "--levels", "16,4", "--tile-size", "32"]
    with fake_earth_engine(), pytest.raises(SystemExit) as exit:
        main([*args, "--out", str(tmp_path / "c.zarr"), "--scheduler", "threads"])
    assert exit.value.code == 0
    out = capsys.readouterr().out
    empty = len(TileManifest(tmp_path / "c.zarr").no_data())
    assert re.search(
        rf"4m: {empty} of \d+ tiles hold no data \(no nicfi image between 2023-06-01 and 2023-09-01\)", out
    )
    assert "corpus complete" in out
