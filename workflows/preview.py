"""``terrasynth preview``: a PNG of the synthetic world over an area, at two dates."""

from __future__ import annotations

import typer


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


def cli(
    bbox: str = typer.Option(
        None, "--bbox", help="Area as 'west,south,east,north' in degrees (instead of --center and --size)."
    ),
    center: str = typer.Option(
        "9.179,45.808", "--center", help="Centre of the area as 'lon,lat' in degrees."
    ),
    size: float = typer.Option(2048.0, "--size", help="Edge of the square area around --center, in metres."),
    resolution: float = typer.Option(4.0, "--resolution", help="Pixel size in metres (e.g. 4, 16, 60)."),
    seed: int = typer.Option(0, "--seed", help="Which synthetic world to draw."),
    date1: str = typer.Option("2018-06-01", "--date1", help="First date, YYYY-MM-DD."),
    date2: str = typer.Option("2023-06-01", "--date2", help="Second date, YYYY-MM-DD."),
    clouds: float = typer.Option(0.0, "--clouds", help="Fraction of sky covered by clouds (0-1)."),
    colours: int = typer.Option(
        None, "--colours", help="Write a smaller palette PNG with at most this many colours (2-256)."
    ),
    out: str = typer.Option("preview.png", "--out", help="PNG file to write."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing --out file."),
) -> None:
    """Draw the synthetic world: the image at two dates, land cover and the change between them."""
    from rich.console import Console
    from rich.progress import Progress

    from terrasynth.core.errors import ConfigError
    from terrasynth.core.outputs import check_output
    from terrasynth.ingest.synthetic import preview_grid, render_preview

    check_output(out, overwrite=overwrite)
    if not 0.0 <= clouds <= 1.0:
        raise ConfigError(f"--clouds must be a fraction between 0 and 1, got {clouds}")
    if bbox is not None:
        grid = preview_grid(bbox=_numbers(bbox, 4, "--bbox"), resolution=resolution)
    else:
        grid = preview_grid(centre=_numbers(center, 2, "--center"), size=size, resolution=resolution)
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
