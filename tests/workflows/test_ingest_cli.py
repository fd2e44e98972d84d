"""``terrasynth ingest``: one-line errors, the dry-run plan, and real runs (local rasters, Earth Engine)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

DATA = Path(__file__).parents[1] / "data" / "ingest"
sys.path.insert(0, str(DATA))

from fake_earthengine import fake_earth_engine  # noqa: E402
from make_rasters import write_landcover, write_reflectance  # noqa: E402

from terrasynth.core import ClassTable, open_corpus  # noqa: E402
from terrasynth.ingest.plan import plan_corpus  # noqa: E402
from terrasynth.workflows.cli import main  # noqa: E402

AOI = "9.002,45.001,9.018,45.009"
EE = ["ingest", "--source", "earthengine", "--aoi", AOI, "--start", "2023-06-01", "--end", "2023-09-01"]


def run(*args) -> int:
    with pytest.raises(SystemExit) as exit:
        main(list(args))
    return exit.value.code


@pytest.mark.parametrize(
    "args, message",
    [
        (
            ["ingest", "--source", "sentinel", "--aoi", AOI],
            "Invalid value for '--source': Value error, 'sentinel' is not one of 'earthengine', 'local'",
        ),
        ([*EE[:-4], "--start", "2023-13-01", "--end", "2023-09-01"], "--start '2023-13-01' is not a date"),
        (
            [*EE[:-4], "--start", "2023-09-01", "--end", "2023-06-01"],
            "--end 2023-06-01 must be after --start",
        ),
        (EE[:-4], "the earthengine source needs a date range: pass --start and --end"),
        (
            ["ingest", "--source", "local", "--aoi", AOI, "--image", "missing.tif"],
            "image missing.tif does not exist",
        ),
        (["ingest", "--source", "local", "--aoi", AOI], "the local source needs at least one image"),
        ([*EE, "--image", "x.tif"], "--image is an option of the local source, not of --source earthengine"),
        (["ingest", "--aoi", "nowhere.geojson"], "area-of-interest file nowhere.geojson does not exist"),
    ],
)
def test_bad_input_is_one_line(args, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert run(*args, "--out", "c.zarr") == 2
    err = capsys.readouterr().err
    assert err.startswith(f"terrasynth: error: {message}") and err.count("\n") == 1
    assert not (tmp_path / "c.zarr").exists()


def test_no_credentials_is_one_line(capsys, tmp_path, monkeypatch):
    for variable in ("GOOGLE_APPLICATION_CREDENTIALS", "CLOUDSDK_CONFIG", "EE_PROJECT"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("NO_GCE_CHECK", "True")
    assert run(*EE, "--out", str(tmp_path / "c.zarr"), "--scheduler", "threads") == 2
    err = capsys.readouterr().err
    assert err.startswith("terrasynth: error: no Earth Engine credentials found") and err.count("\n") == 1
    assert not (tmp_path / "c.zarr").exists()


def test_dry_run_prints_the_plan_without_credentials_or_output(capsys, tmp_path):
    assert run(*EE, "--levels", "60,16,4", "--dry-run", "--out", str(tmp_path / "c.zarr")) == 0
    out = capsys.readouterr().out
    assert "Corpus plan: earthengine source" in out and "r00_utm32n" in out and "EPSG:32632" in out
    assert "1 region(s), 6 tiles, 6 requests" in out and "at the quota (16 requests/s" in out
    assert not (tmp_path / "c.zarr").exists()


def test_a_config_file_gives_ingest_its_source_options_and_a_bad_one_is_one_line(capsys, tmp_path):
    config = tmp_path / "ingest.yaml"
    config.write_text("source: earthengine\nstart: '2023-06-01'\nend: '2023-09-01'\nlevels: '60,16,4'\n")
    assert (
        run("ingest", "--aoi", AOI, "--config", str(config), "--dry-run", "--out", str(tmp_path / "c.zarr"))
        == 0
    )
    assert "Corpus plan: earthengine source" in capsys.readouterr().out
    config.write_text("source: earthengine\nimagery: sentinel3\n")
    assert run("ingest", "--aoi", AOI, "--config", str(config), "--out", str(tmp_path / "c.zarr")) == 2
    err = capsys.readouterr().err
    assert (
        err.startswith(f"terrasynth: error: {config}: imagery: Input should be 'sentinel2'")
        and err.count("\n") == 1
    )
    assert not (tmp_path / "c.zarr").exists()


def test_earth_engine_ingest_end_to_end(capsys, tmp_path):
    out = tmp_path / "c.zarr"
    args = [*EE, "--levels", "60,16", "--tile-size", "32", "--landcover", "dynamicworld", "--out", str(out)]
    with fake_earth_engine(faults=[429, "timeout"], latency=0.05) as server:  # latency: requests overlap
        assert run(*args, "--scheduler", "threads", "--concurrency", "3") == 0
    printed = capsys.readouterr()
    assert "Ingest summary" in printed.out and f"corpus complete: {out}" in printed.out
    tree = open_corpus(out)
    assert tree.attrs["source"]["landcover"]["collection"] == "GOOGLE/DYNAMICWORLD/V1"
    assert ClassTable.from_attrs(tree["r00_utm32n/16m"].landcover.attrs).scheme == "dynamic-world"
    tiles = sum(len(list(tree[f"r00_utm32n/{level}"].image.data.blocks.ravel())) for level in ("60m", "16m"))
    assert len(server.requests) == tiles + 2
    assert server.peak_in_flight <= 3  # how many overlap below the cap depends on the host's timing
    start, end = json.loads((tmp_path / "c.zarr.stac" / "collection.json").read_text())["extent"]["temporal"][
        "interval"
    ][0]
    assert start.startswith("2023-06-01T00:00:00") and end.startswith("2023-08-31T23:59:59")  # --end excluded


def test_local_ingest_end_to_end(capsys, tmp_path):
    reflectance = write_reflectance(tmp_path / "reflectance.tif")
    landcover = write_landcover(tmp_path / "landcover.tif")
    out = tmp_path / "c.zarr"
    args = [
        "ingest", "--source", "local", "--image", str(reflectance), "--bands", "B4,B3,B2",
        "--landcover-raster", str(landcover), "--aoi", AOI, "--levels", "60,16", "--tile-size", "64", "--out", str(out),
    ]  # fmt: skip
    assert run(*args, "--scheduler", "threads") == 0
    printed = capsys.readouterr()
    assert "threads in this process" in printed.err
    assert " 16m " in printed.err and "tiles/s" in printed.err  # the progress bars
    assert "Ingest summary" in printed.out
    ds = open_corpus(out)["r00_utm32n/16m"].to_dataset()
    assert list(ds.band.values) == ["B4", "B3", "B2"]
    assert set(ds.landcover.values[ds.valid.values].ravel()) == {10, 40}
    assert (tmp_path / "c.zarr.stac" / "collection.json").is_file()


def test_local_ingest_of_an_area_outside_the_raster_is_refused_and_keeps_the_corpus(capsys, tmp_path):
    reflectance = write_reflectance(tmp_path / "reflectance.tif")
    out = tmp_path / "c.zarr"
    local = ["ingest", "--source", "local", "--image", str(reflectance), "--levels", "60", "--out", str(out)]
    assert run(*local, "--aoi", AOI, "--scheduler", "threads") == 0
    capsys.readouterr()
    assert run(*local, "--aoi", "10.0,45.0,10.01,45.01", "--overwrite", "--scheduler", "threads") == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(
        "terrasynth: error: the area 10.0000,45.0000,10.0100,45.0100"
    )
    assert "reflectance.tif covers 9.0000,45.0000,9.0200,45.0100" in err
    assert open_corpus(out).attrs["status"] == "complete"  # --overwrite removed nothing


def test_ingest_with_a_key_whose_private_key_is_invalid_is_one_line_without_key_material(capsys, tmp_path):
    key = tmp_path / "key.json"
    garbage = "-----BEGIN PRIVATE KEY-----\nSECRETxKEYxMATERIALxNOTxBASE64==\n-----END PRIVATE KEY-----\n"
    key.write_text(
        json.dumps(
            {
                "type": "service_account",
                "project_id": "p",
                "private_key_id": "0123",
                "private_key": garbage,
                "client_email": "robot@p.iam.gserviceaccount.com",
                "token_uri": "https://oauth2.googleapis.com/token",
            }
        )
    )
    args = [
        *EE,
        "--service-account-key",
        str(key),
        "--out",
        str(tmp_path / "c.zarr"),
        "--scheduler",
        "threads",
    ]
    assert run(*args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "SECRET" not in err and "no Earth Engine credentials" not in err
    assert err.startswith(f"terrasynth: error: service-account key file {key} is invalid (its private_key")
    assert not (tmp_path / "c.zarr").exists()


def test_dry_run_of_a_continent_prints_its_plan_holding_no_tile(tmp_path):
    """Europe at 60/16/4 m is 18 million tiles: counted by arithmetic, so the plan needs the memory
    of a small one (the time it takes is recorded by benchmarks/ingest_scale.py). Measured in a
    fresh process, by tracemalloc (its resident size would start from this one's)."""
    europe = "-10,35,40,70"
    script = (
        "import tracemalloc\n"
        "import terrasynth.ingest.plan, terrasynth.workflows.ingest\n"
        "from terrasynth.workflows.cli import main\n"
        "tracemalloc.start()\n"
        "try:\n"
        f"    main(['ingest', '--aoi', '{europe}', '--dry-run', '--out', '{tmp_path / 'c.zarr'}'])\n"
        "except SystemExit as exit:\n"
        "    assert not exit.code, exit.code\n"
        "print('peak bytes', tracemalloc.get_traced_memory()[1])\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    tiles = sum(plan.tiles for plan in plan_corpus(europe, "60,16,4", 256))
    assert tiles > 10**7 and f"9 region(s), {tiles} tiles, 0 requests" in result.stdout
    assert int(result.stdout.rsplit("peak bytes", 1)[1]) < 2**30
    assert not (tmp_path / "c.zarr").exists()
