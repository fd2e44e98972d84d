"""``terrasynth ingest``: build the chosen source from its options, then print the plan
(:func:`~terrasynth.workflows.ingest.print_plan`, ``--dry-run``) or run
:func:`~terrasynth.workflows.ingest.run_ingest` and print its summary."""

from __future__ import annotations

from typing import Annotated, Literal

import typer

from terrasynth.ingest.catalog import IMAGERY, LANDCOVER
from terrasynth.ingest.registry import SOURCES
from terrasynth.workflows.commands.options import RestartOption

SourceName = Literal[tuple(SOURCES)]
ImageryName = Literal[tuple(IMAGERY)]
LandCoverName = Literal[tuple(LANDCOVER)]


def ingest(
    aoi: Annotated[
        str,
        typer.Option(
            "--aoi", help="Area: 'west,south,east,north' degrees, GeoJSON/WKT text or a file holding either."
        ),
    ],
    source: Annotated[SourceName, typer.Option("--source", help="Where pixels come from.")] = "synthetic",
    levels: Annotated[
        str, typer.Option("--levels", help="Resolutions in metres, coarse to fine.")
    ] = "60,16,4",
    start: Annotated[
        str | None,
        typer.Option("--start", help="First day of the date range, YYYY-MM-DD (needed by earthengine)."),
    ] = None,
    end: Annotated[
        str | None, typer.Option("--end", help="Day after the date range, YYYY-MM-DD (excluded).")
    ] = None,
    out: Annotated[
        str, typer.Option("--out", help="The Zarr store to write (resumed if it exists).")
    ] = "corpus.zarr",
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print regions, tiles, requests, bytes and time; fetch nothing.")
    ] = False,
    overwrite: RestartOption = False,
    scheduler: Annotated[
        str,
        typer.Option(
            "--scheduler",
            help="'local' (a Dask cluster sized to this machine), 'threads' (this process; small jobs) or a "
            "Dask scheduler address such as tcp://host:8786.",
        ),
    ] = "local",
    tile_size: Annotated[int, typer.Option("--tile-size", help="Tile and chunk edge in pixels.")] = 256,
    project: Annotated[
        str | None,
        typer.Option(
            "--project", help="earthengine: Cloud project with Earth Engine enabled (default: $EE_PROJECT)."
        ),
    ] = None,
    service_account_key: Annotated[
        str | None,
        typer.Option(
            "--service-account-key",
            help="earthengine: service-account JSON key file (default: application-default credentials).",
        ),
    ] = None,
    imagery: Annotated[
        ImageryName,
        typer.Option(
            "--imagery", help="earthengine: the imagery of every level (usually sentinel2 or landsat)."
        ),
    ] = "sentinel2",
    fine_imagery: Annotated[
        ImageryName | None,
        typer.Option(
            "--fine-imagery",
            help="earthengine: imagery for levels finer than --imagery's (usually nicfi or naip; else resampled).",
        ),
    ] = None,
    landcover: Annotated[
        LandCoverName, typer.Option("--landcover", help="earthengine: the land-cover product.")
    ] = "worldcover",
    buildings: Annotated[
        bool,
        typer.Option(
            "--buildings", help="earthengine: burn Open Buildings temporal into the land cover as built-up."
        ),
    ] = False,
    cloud_threshold: Annotated[
        float,
        typer.Option(
            "--cloud-threshold", help="earthengine: keep Sentinel-2 pixels with Cloud Score+ cs_cdf >= this."
        ),
    ] = 0.6,
    concurrency: Annotated[
        int,
        typer.Option(
            "--concurrency", help="earthengine: requests in flight at once, all workers together (quota ~40)."
        ),
    ] = 32,
    image: Annotated[
        list[str] | None,
        typer.Option(
            "--image", help="local: a GeoTIFF/COG to read (repeat for several; the first listed wins)."
        ),
    ] = None,
    bands: Annotated[
        str | None,
        typer.Option("--bands", help="local: bands to keep, 1-based indexes or descriptions, e.g. 2,3,4,8."),
    ] = None,
    scale: Annotated[
        float, typer.Option("--scale", help="local: reflectance = stored value x scale + offset.")
    ] = 1e-4,
    offset: Annotated[
        float, typer.Option("--offset", help="local: reflectance = stored value x scale + offset.")
    ] = 0.0,
    landcover_raster: Annotated[
        str | None,
        typer.Option(
            "--landcover-raster", help="local: a class raster (ESA WorldCover codes) to store as land cover."
        ),
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="synthetic: the seed of the world.")] = 0,
) -> None:
    """Build a multi-resolution corpus (Zarr) from Earth Engine, local rasters or the synthetic world."""
    from terrasynth.core import AreaOfInterest
    from terrasynth.core.errors import ConfigError
    from terrasynth.ingest.dates import DateRange
    from terrasynth.ingest.registry import make_source
    from terrasynth.workflows.ingest import print_plan, print_summary, run_ingest

    if (start is None) != (end is None):
        raise ConfigError("give both --start and --end, or neither")
    dates = DateRange.parse(start, end) if start is not None else None
    _check_options_fit(
        source,
        {
            "local": {"--image": image, "--bands": bands, "--landcover-raster": landcover_raster},
            "earthengine": {
                "--project": project,
                "--service-account-key": service_account_key,
                "--fine-imagery": fine_imagery,
                "--buildings": buildings,
            },
        },
    )
    if source == "earthengine":
        if dates is None:
            raise ConfigError(
                "the earthengine source needs a date range: pass --start and --end (YYYY-MM-DD)"
            )
        options = {
            "start": dates.start,
            "end": dates.end,
            "imagery": imagery,
            "fine_imagery": fine_imagery,
            "landcover": landcover,
            "buildings": buildings,
            "cloud_threshold": cloud_threshold,
            "concurrency": concurrency,
            "project": project,
            "service_account_key": service_account_key,
        }
    elif source == "local":
        options = {
            "images": image or [],
            "bands": bands.split(",") if bands else None,
            "scale": scale,
            "offset": offset,
            "landcover": landcover_raster,
        }
    else:
        options = {"seed": seed, **({"date": dates.start} if dates else {})}
    area = AreaOfInterest.parse(aoi)
    chosen = make_source(source, **options)
    if dry_run:
        print_plan(area, levels, tile_size, chosen)
        return
    summary = run_ingest(
        chosen,
        area,
        out,
        levels=levels,
        tile_size=tile_size,
        dates=dates,
        overwrite=overwrite,
        scheduler=scheduler,
    )
    print_summary(summary)


def _check_options_fit(source: str, given_by_source: dict[str, dict]) -> None:
    """Refuse options that belong to another source than the one chosen (they would be ignored)."""
    from terrasynth.core.errors import ConfigError

    for owner, options in given_by_source.items():
        given = [name for name, value in options.items() if value]
        if owner != source and given:
            raise ConfigError(f"{given[0]} is an option of the {owner} source, not of --source {source}")
