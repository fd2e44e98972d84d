"""``terrasynth preview``: a PNG of the synthetic world over an area, at two dates."""

from __future__ import annotations

from typing import Annotated

import typer

from terrasynth.workflows.commands.options import OverwriteOption


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


def preview(
    bbox: Annotated[
        str | None,
        typer.Option(
            "--bbox", help="Area as 'west,south,east,north' in degrees (instead of --center and --size)."
        ),
    ] = None,
    center: Annotated[
        str, typer.Option("--center", help="Centre of the area as 'lon,lat' in degrees.")
    ] = "9.179,45.808",
    size: Annotated[
        float, typer.Option("--size", help="Edge of the square area around --center, in metres.")
    ] = 2048.0,
    gsd: Annotated[float, typer.Option("--gsd", help="Metres per pixel (e.g. 4, 16, 60).")] = 4.0,
    seed: Annotated[int, typer.Option("--seed", help="Which synthetic world to draw.")] = 0,
    date1: Annotated[str, typer.Option("--date1", help="First date, YYYY-MM-DD.")] = "2018-06-01",
    date2: Annotated[str, typer.Option("--date2", help="Second date, YYYY-MM-DD.")] = "2023-06-01",
    clouds: Annotated[
        float, typer.Option("--clouds", min=0.0, max=1.0, help="Fraction of sky covered by clouds (0-1).")
    ] = 0.0,
    colours: Annotated[
        int | None,
        typer.Option("--colours", help="Write a smaller palette PNG with at most this many colours (2-256)."),
    ] = None,
    out: Annotated[str, typer.Option("--out", help="PNG file to write.")] = "preview.png",
    overwrite: OverwriteOption = False,
) -> None:
    """Draw the synthetic world: the image at two dates, land cover and the change between them."""
    from rich.console import Console
    from rich.progress import Progress

    from terrasynth.core.outputs import check_output
    from terrasynth.ingest.synthetic import preview_grid, render_preview

    check_output(out, overwrite=overwrite)
    if bbox is not None:
        grid = preview_grid(bbox=_numbers(bbox, 4, "--bbox"), resolution=gsd)
    else:
        grid = preview_grid(centre=_numbers(center, 2, "--center"), size=size, resolution=gsd)
    console = Console()
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task(f"rendering {grid.width} x {grid.height} px", total=4)
        result = render_preview(
            out,
            grid,
            seed=seed,
            date1=date1,
            date2=date2,
            clouds=clouds,
            colours=colours,
            progress=lambda what: progress.update(task, advance=1, description=what),
        )
    left, bottom, right, top = grid.bounds
    console.print(
        f"Wrote {result.path}: {grid.width} x {grid.height} px at {grid.resolution:g} m in {grid.crs} "
        f"({(right - left) / 1000:.2f} x {(top - bottom) / 1000:.2f} km), seed {seed}."
    )
    classes = ", ".join(
        f"{name} {share:.0%}" for name, share in sorted(result.landcover.items(), key=lambda kv: -kv[1])
    )
    console.print(f"Land cover at {date2}: {classes}. Changed since {date1}: {result.changed:.1%} of pixels.")
