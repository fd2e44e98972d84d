"""``terrasynth ingest``: build the chosen source from its options, then print the plan
(:func:`~terrasynth.workflows.ingest.print_plan`, ``--dry-run``) or run
:func:`~terrasynth.workflows.ingest.run_ingest` and print its summary."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from terrasynth.core.config import Config
from terrasynth.ingest.catalog import IMAGERY, LANDCOVER
from terrasynth.ingest.registry import SOURCES
from terrasynth.workflows.commands.options import RestartOption
from terrasynth.workflows.commands.settings_options import settings_command

if TYPE_CHECKING:  # choices made from the registries at run time, which mypy cannot read
    SourceName = str
    ImageryName = str
    LandCoverName = str
else:
    SourceName = Literal[tuple(SOURCES)]
    ImageryName = Literal[tuple(IMAGERY)]
    LandCoverName = Literal[tuple(LANDCOVER)]


class IngestOptions(Config):
    """The area, levels and output of ``terrasynth ingest``, and the options of each source."""

    aoi: str = Field(
        description="area: 'west,south,east,north' degrees, GeoJSON/WKT text or a file holding either"
    )
    source: SourceName = Field("synthetic", description="where pixels come from")
    levels: str = Field("60,16,4", description="resolutions in metres, coarse to fine")
    start: str | None = Field(
        None, description="first day of the date range, YYYY-MM-DD (needed by earthengine)"
    )
    end: str | None = Field(None, description="day after the date range, YYYY-MM-DD (excluded)")
    out: str = Field("corpus.zarr", description="the Zarr store to write (resumed if it exists)")
    dry_run: bool = Field(False, description="print regions, tiles, requests, bytes and time; fetch nothing")
    scheduler: str = Field(
        "local",
        description="'local' (a Dask cluster sized to this machine), 'threads' (this process; small jobs) or a "
        "Dask scheduler address such as tcp://host:8786",
    )
    tile_size: int = Field(256, description="tile and chunk edge in pixels")
    project: str | None = Field(
        None, description="for earthengine: Cloud project with Earth Engine enabled (default: $EE_PROJECT)"
    )
    service_account_key: str | None = Field(
        None,
        description="for earthengine: service-account JSON key file (default: application-default credentials)",
    )
    imagery: ImageryName = Field(
        "sentinel2", description="for earthengine: the imagery of every level (usually sentinel2 or landsat)"
    )
    fine_imagery: ImageryName | None = Field(
        None,
        description="for earthengine: imagery for levels finer than --imagery's (usually nicfi or naip; else "
        "resampled)",
    )
    landcover: LandCoverName = Field("worldcover", description="for earthengine: the land-cover product")
    buildings: bool = Field(
        False, description="for earthengine: burn Open Buildings temporal into the land cover as built-up"
    )
    cloud_threshold: float = Field(
        0.6, description="for earthengine: keep Sentinel-2 pixels with Cloud Score+ cs_cdf >= this"
    )
    concurrency: int = Field(
        32, description="for earthengine: requests in flight at once, all workers together (quota ~40)"
    )
    image: list[str] | None = Field(
        None, description="for local: a GeoTIFF/COG to read (repeat for several; the first listed wins)"
    )
    bands: str | None = Field(
        None, description="for local: bands to keep, 1-based indexes or descriptions, e.g. 2,3,4,8"
    )
    scale: float = Field(1e-4, description="for local: reflectance = stored value x scale + offset")
    offset: float = Field(0.0, description="for local: reflectance = stored value x scale + offset")
    landcover_raster: str | None = Field(
        None, description="for local: a class raster (ESA WorldCover codes) to store as land cover"
    )
    seed: int = Field(0, description="for synthetic: the seed of the world")


@settings_command()
def ingest(options: IngestOptions, overwrite: RestartOption = False) -> None:
    """Build a multi-resolution corpus (Zarr) from Earth Engine, local rasters or the synthetic world."""
    from terrasynth.core import AreaOfInterest
    from terrasynth.core.errors import ConfigError
    from terrasynth.ingest.dates import DateRange
    from terrasynth.ingest.registry import make_source
    from terrasynth.workflows.ingest import print_plan, print_summary, run_ingest

    o = options
    if (o.start is None) != (o.end is None):
        raise ConfigError("give both --start and --end, or neither")
    dates = DateRange.parse(o.start, o.end) if o.start is not None and o.end is not None else None
    _check_options_fit(
        o.source,
        {
            "local": {"--image": o.image, "--bands": o.bands, "--landcover-raster": o.landcover_raster},
            "earthengine": {
                "--project": o.project,
                "--service-account-key": o.service_account_key,
                "--fine-imagery": o.fine_imagery,
                "--buildings": o.buildings,
            },
        },
    )
    source_options: dict[str, Any]
    if o.source == "earthengine":
        if dates is None:
            raise ConfigError(
                "the earthengine source needs a date range: pass --start and --end (YYYY-MM-DD)"
            )
        source_options = {
            "start": dates.start,
            "end": dates.end,
            "imagery": o.imagery,
            "fine_imagery": o.fine_imagery,
            "landcover": o.landcover,
            "buildings": o.buildings,
            "cloud_threshold": o.cloud_threshold,
            "concurrency": o.concurrency,
            "project": o.project,
            "service_account_key": o.service_account_key,
        }
    elif o.source == "local":
        source_options = {
            "images": o.image or [],
            "bands": o.bands.split(",") if o.bands else None,
            "scale": o.scale,
            "offset": o.offset,
            "landcover": o.landcover_raster,
        }
    else:
        source_options = {"seed": o.seed, **({"date": dates.start} if dates else {})}
    area = AreaOfInterest.parse(o.aoi)
    chosen = make_source(o.source, **source_options)
    if o.dry_run:
        print_plan(area, o.levels, o.tile_size, chosen)
        return
    summary = run_ingest(
        chosen,
        area,
        o.out,
        levels=o.levels,
        tile_size=o.tile_size,
        dates=dates,
        overwrite=overwrite,
        scheduler=o.scheduler,
    )
    print_summary(summary)


def _check_options_fit(source: str, given_by_source: dict[str, dict]) -> None:
    """Refuse options that belong to another source than the one chosen (they would be ignored)."""
    from terrasynth.core.errors import ConfigError

    for owner, options in given_by_source.items():
        given = [name for name, value in options.items() if value]
        if owner != source and given:
            raise ConfigError(f"{given[0]} is an option of the {owner} source, not of --source {source}")
