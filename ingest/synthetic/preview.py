"""A picture of the synthetic world for people: the image at two dates, the land cover and the change.

The panels, left to right: true colour at the first date, true colour at the second, land cover at
the second (WorldCover colours, with a legend) and the change between the dates (changed pixels in
magenta over a grey version of the second image).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from affine import Affine
from PIL import Image, ImageDraw
from pyproj import Transformer

from terrasynth.core.aoi import AreaOfInterest, utm_zone
from terrasynth.core.errors import ConfigError
from terrasynth.core.grid import GridSpec
from terrasynth.core.landcover import WORLDCOVER
from terrasynth.core.outputs import atomic_path
from terrasynth.ingest.synthetic.render import true_colour
from terrasynth.ingest.synthetic.timeline import DateLike, parse_date
from terrasynth.ingest.synthetic.world import SyntheticWorld

MAX_PIXELS = 4096  # per side of one panel
_TITLE = 18  # pixels of title above each panel
_CHANGE = np.array([255, 0, 255], np.uint8)


@dataclass(frozen=True)
class Preview:
    """What :func:`render_preview` drew.

    Attributes:
        path: the PNG written.
        grid: the grid of each panel (a UTM zone, metres).
        changed: fraction of pixels whose land cover changed between the dates.
        landcover: WorldCover class name -> fraction of pixels at the second date.
    """

    path: Path
    grid: GridSpec
    changed: float
    landcover: dict[str, float]


def preview_grid(
    *,
    bbox: Sequence[float] | None = None,
    centre: Sequence[float] | None = None,
    size: float = 2048.0,
    resolution: float = 4.0,
) -> GridSpec:
    """The grid of a preview in the local UTM zone: a ``bbox`` (west, south, east, north degrees),
    or a square of ``size`` metres (rounded to whole pixels) around ``centre`` (longitude, latitude
    degrees)."""
    if (bbox is None) == (centre is None):
        raise ConfigError("give either a bbox (west,south,east,north) or a centre (lon,lat) with a size")
    if not (resolution > 0 and math.isfinite(resolution)):
        raise ConfigError(f"resolution must be a positive number of metres, got {resolution!r}")
    if bbox is not None:
        if len(bbox) != 4:
            raise ConfigError(f"bbox needs four numbers west,south,east,north; got {len(bbox)}")
        region = AreaOfInterest.from_bbox(*map(float, bbox)).regions()[0]
        grid = GridSpec.from_bounds(region.bounds, region.crs, resolution)
    elif centre is not None:
        if len(centre) != 2:
            raise ConfigError(f"centre needs two numbers lon,lat; got {len(centre)}")
        lon, lat = map(float, centre)
        if not (-180 <= lon <= 180 and -80 <= lat <= 84):
            raise ConfigError(
                f"centre {lon},{lat} is outside the UTM zones (longitude -180..180, latitude -80..84)"
            )
        if not size > 0:
            raise ConfigError(f"size must be a positive number of metres, got {size!r}")
        zone, north = utm_zone(lon, lat)
        crs = f"EPSG:{(32600 if north else 32700) + zone}"
        x, y = Transformer.from_crs("EPSG:4326", crs, always_xy=True).transform(lon, lat)
        pixels = max(1, round(size / resolution))
        left = math.floor(x / resolution - pixels / 2) * resolution
        top = math.floor(y / resolution + pixels / 2) * resolution
        grid = GridSpec(crs, Affine(resolution, 0.0, left, 0.0, -resolution, top), (pixels, pixels))
    if max(grid.shape) > MAX_PIXELS:
        raise ConfigError(
            f"the preview would be {grid.shape[1]} x {grid.shape[0]} pixels per panel; keep it under "
            f"{MAX_PIXELS} by shrinking the area or coarsening the resolution"
        )
    return grid


def render_preview(
    path: str | Path,
    grid: GridSpec,
    *,
    seed: int = 0,
    date1: DateLike = "2018-06-01",
    date2: DateLike = "2023-06-01",
    clouds: bool | float = False,
    colours: int | None = None,
    progress: Callable[[str], None] | None = None,
) -> Preview:
    """Render the world with ``seed`` on ``grid`` at two dates and write the panels to ``path`` (PNG).

    ``colours`` (2-256) writes a palette PNG with at most that many colours, several times smaller
    (for documentation and the web); ``progress`` is called with a short description after each step.
    """
    if colours is not None and not 2 <= colours <= 256:
        raise ConfigError(f"colours must be between 2 and 256, got {colours}")
    first, second = parse_date(date1), parse_date(date2)
    world = SyntheticWorld(seed)
    step = progress or (lambda _: None)
    before = world.render(grid, first, clouds=clouds)
    step(f"image {first}")
    after = world.render(grid, second, clouds=clouds)
    step(f"image {second}")
    changed = before.landcover != after.landcover
    step("land cover change")
    image2 = true_colour(after.painted())
    grey = (image2.astype(np.float64).mean(axis=-1, keepdims=True) * 0.8).astype(np.uint8).repeat(3, axis=-1)
    panels = {
        f"{first} ({grid.resolution:g} m)": true_colour(before.painted()),
        f"{second}": image2,
        "land cover": WORLDCOVER.colorize(after.landcover),
        "change": np.where(changed[..., None], _CHANGE, grey),
    }
    canvas = _compose(panels, after.landcover)
    if colours is not None:
        canvas = canvas.quantize(colors=colours, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    path = Path(path)
    with atomic_path(path) as partial:
        canvas.save(partial, format="PNG", optimize=True)
    step(f"wrote {path}")
    codes, counts = np.unique(after.landcover, return_counts=True)
    fractions = {
        WORLDCOVER.name(int(c)): float(n) / after.landcover.size for c, n in zip(codes, counts, strict=True)
    }
    return Preview(path, grid, float(changed.mean()), fractions)


def _compose(panels: dict[str, np.ndarray], landcover: np.ndarray) -> Image.Image:
    height, width = next(iter(panels.values())).shape[:2]
    gap = 4
    codes = [int(c) for c in np.unique(landcover)]
    per_row = max(1, (len(panels) * (width + gap)) // 170)  # legend entries per row
    legend = 16 * -(-len(codes) // per_row) + 6
    canvas = Image.new("RGB", (len(panels) * (width + gap) - gap, _TITLE + height + legend), "white")
    draw = ImageDraw.Draw(canvas)
    for index, (title, panel) in enumerate(panels.items()):
        left = index * (width + gap)
        draw.text((left + 2, 3), title, fill="black")
        canvas.paste(Image.fromarray(panel), (left, _TITLE))
    colours = WORLDCOVER.colorize(np.array(codes))
    for index, (code, colour) in enumerate(zip(codes, colours, strict=True)):
        left = (index % per_row) * 170 + 2
        top = _TITLE + height + 4 + 16 * (index // per_row)
        draw.rectangle((left, top, left + 11, top + 11), fill=tuple(int(c) for c in colour), outline="black")
        draw.text((left + 15, top), WORLDCOVER.name(code).replace("_", " "), fill="black")
    return canvas
