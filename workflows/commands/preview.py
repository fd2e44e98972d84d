"""``terrasynth preview``: a PNG of the synthetic world over an area, at two dates."""

from __future__ import annotations

from pydantic import Field

from terrasynth.core.config import Config
from terrasynth.workflows.commands.options import OverwriteOption
from terrasynth.workflows.commands.settings_options import settings_command


def _numbers(text: str, count: int, option: str) -> list[float]:
    from terrasynth.core.errors import ConfigError

    parts = [p for p in text.replace(" ", "").split(",") if p]
    try:
        values = [float(p) for p in parts]
    except ValueError:
        values = []
    if len(values) != count:
        raise ConfigError(f"{option} needs {count} comma-separated numbers, got {text!r}")
    return values


class PreviewOptions(Config):
    """The area, resolution, world and dates ``terrasynth preview`` draws, and its PNG."""

    bbox: str | None = Field(
        None, description="area as 'west,south,east,north' in degrees (instead of --center and --size)"
    )
    center: str = Field("9.179,45.808", description="centre of the area as 'lon,lat' in degrees")
    size: float = Field(2048.0, description="edge of the square area around --center, in metres")
    gsd: float = Field(4.0, description="metres per pixel (e.g. 4, 16, 60)")
    seed: int = Field(0, description="which synthetic world to draw")
    date1: str = Field("2018-06-01", description="first date, YYYY-MM-DD")
    date2: str = Field("2023-06-01", description="second date, YYYY-MM-DD")
    clouds: float = Field(0.0, ge=0.0, le=1.0, description="fraction of sky covered by clouds (0-1)")
    colours: int | None = Field(
        None, description="write a smaller palette PNG with at most this many colours (2-256)"
    )
    out: str = Field("preview.png", description="PNG file to write")


@settings_command()
def preview(options: PreviewOptions, overwrite: OverwriteOption = False) -> None:
    """Draw the synthetic world: the image at two dates, land cover and the change between them."""
    from rich.console import Console
    from rich.progress import Progress

    from terrasynth.core.outputs import check_output
    from terrasynth.ingest.synthetic import preview_grid, render_preview

    o = options
    check_output(o.out, overwrite=overwrite)
    if o.bbox is not None:
        grid = preview_grid(bbox=_numbers(o.bbox, 4, "--bbox"), resolution=o.gsd)
    else:
        grid = preview_grid(centre=_numbers(o.center, 2, "--center"), size=o.size, resolution=o.gsd)
    console = Console()
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task(f"rendering {grid.width} x {grid.height} px", total=4)
        result = render_preview(
            o.out,
            grid,
            seed=o.seed,
            date1=o.date1,
            date2=o.date2,
            clouds=o.clouds,
            colours=o.colours,
            progress=lambda what: progress.update(task, advance=1, description=what),
        )
    left, bottom, right, top = grid.bounds
    console.print(
        f"Wrote {result.path}: {grid.width} x {grid.height} px at {grid.resolution:g} m in {grid.crs} "
        f"({(right - left) / 1000:.2f} x {(top - bottom) / 1000:.2f} km), seed {o.seed}."
    )
    classes = ", ".join(
        f"{name} {share:.0%}" for name, share in sorted(result.landcover.items(), key=lambda kv: -kv[1])
    )
    console.print(
        f"Land cover at {o.date2}: {classes}. Changed since {o.date1}: {result.changed:.1%} of pixels."
    )
