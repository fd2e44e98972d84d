"""Plan a corpus: the regions, UTM grids and tiles an area of interest becomes at each level."""

from __future__ import annotations

from dataclasses import dataclass

import typer


@dataclass(frozen=True)
class LevelPlan:
    """One level of one region: its grid and how many tiles of ``tile_size`` pixels cover it."""

    region: str
    crs: str
    level: str
    shape: tuple[int, int]
    bounds: tuple[float, float, float, float]
    tiles: int


def plan_corpus(aoi: str, levels: str = "60,16,4", tile_size: int = 256) -> list[LevelPlan]:
    """The grids and tile counts a corpus over ``aoi`` would have (nothing is fetched).

    Args:
        aoi: a ``west,south,east,north`` bbox in degrees, GeoJSON or WKT text, or a file holding it.
        levels: resolutions in metres, e.g. ``"60,16,4"``.
        tile_size: tile edge in pixels.
    """
    from terrasynth.core import AreaOfInterest, ConfigError, parse_levels

    if tile_size < 16:
        raise ConfigError(f"--tile-size {tile_size} is too small: use at least 16 pixels")
    ladder = parse_levels(levels)
    plans = []
    for region in AreaOfInterest.parse(aoi).regions():
        for name, grid in region.grids(ladder).items():
            plans.append(
                LevelPlan(
                    region.name,
                    grid.crs,
                    name,
                    grid.shape,
                    grid.bounds,
                    sum(1 for _ in grid.tiles(tile_size)),
                )
            )
    return plans


def cli(
    aoi: str = typer.Option(
        ..., "--aoi", help="Area: 'west,south,east,north' degrees, GeoJSON/WKT text or file."
    ),
    levels: str = typer.Option("60,16,4", "--levels", help="Resolutions in metres, coarse to fine."),
    tile_size: int = typer.Option(256, "--tile-size", help="Tile edge in pixels."),
) -> None:
    """Show the regions, UTM grids and tiles that an area of interest becomes."""
    from rich.console import Console
    from rich.table import Table

    plans = plan_corpus(aoi, levels, tile_size)
    table = Table(title=f"Corpus plan ({tile_size} x {tile_size} px tiles)")
    for column in ("region", "CRS", "level", "pixels (rows x cols)", "extent (km)", "tiles"):
        table.add_column(column, justify="right" if column in {"tiles", "extent (km)"} else "left")
    for p in plans:
        left, bottom, right, top = p.bounds
        extent = f"{(right - left) / 1000:.2f} x {(top - bottom) / 1000:.2f}"
        table.add_row(p.region, p.crs, p.level, f"{p.shape[0]} x {p.shape[1]}", extent, str(p.tiles))
    console = Console()
    console.print(table)
    regions = len({p.region for p in plans})
    console.print(f"{regions} region(s), {sum(p.tiles for p in plans)} tiles in all.")
