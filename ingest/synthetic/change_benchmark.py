"""Bitemporal change-detection sets cut from the synthetic world, in the LEVIR-CD or SECOND layout.

Each pair is one tile at two dates, centred near the edge of a town (where towns grow). Every split
is drawn from its own part of the world, hundreds of kilometres from the others, so no place is
in two splits. Labels come from the world's ground truth:

- LEVIR-CD: ``label`` is 255 where a building stands at one date and not at the other (built or
  demolished), 0 elsewhere;
- SECOND: ``label1``/``label2`` hold the SECOND class at each date (colour maps in the SECOND
  palette) where the SECOND class changed, and "unchanged" (white) elsewhere. WorldCover classes map
  to SECOND as water -> water, bare and built-up ground that is not a building -> ground, grass,
  shrub, crops and wetland -> low vegetation, trees -> tree, building footprints -> building; the
  world has no playgrounds.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np
from affine import Affine
from pyproj import Transformer

from terrasynth.core.change_data import LEVIR_CD, SECOND, ChangeLayout, second_classes
from terrasynth.core.change_writers import LevirCDWriter, SecondWriter
from terrasynth.core.errors import ConfigError
from terrasynth.core.grid import GridSpec
from terrasynth.ingest.synthetic.hashing import draws, hash_ints, stream
from terrasynth.ingest.synthetic.render import true_colour
from terrasynth.ingest.synthetic.timeline import DateLike, parse_date
from terrasynth.ingest.synthetic.towns import town_centres
from terrasynth.ingest.synthetic.world import Rendering, SyntheticWorld

LAYOUTS = {LEVIR_CD.name: LEVIR_CD, SECOND.name: SECOND}
WRITERS: dict[str, type[LevirCDWriter | SecondWriter]] = {
    LEVIR_CD.name: LevirCDWriter,
    SECOND.name: SecondWriter,
}
CRS = "EPSG:32632"
SPLIT_ORIGIN = (200_000.0, 4_800_000.0)  # metres: south-west corner of the first split's part
SPLIT_STRIDE = 400_000.0  # metres northward between the parts of successive splits
SPLIT_SPAN = 360_000.0  # metres: width and height of one split's part (at most 3600 towns)
MAX_EXTENT = 2800.0  # metres: tiles near neighbouring towns cannot overlap below this edge


def build_change_benchmark(
    root: str | Path,
    layout: str = "levir-cd",
    *,
    seed: int = 0,
    pairs_per_split: int | Mapping[str, int] = 4,
    size: int = 256,
    gsd: float = 4.0,
    date1: DateLike = "2018-06-01",
    date2: DateLike = "2023-06-01",
    overwrite: bool = False,
    progress: Callable[[str], None] | None = None,
) -> Path:
    """Write a change-detection set from the world with ``seed`` into ``root`` and return ``root``.

    Args:
        layout: ``"levir-cd"`` (train/val/test, A/B/label) or ``"second"`` (train/test,
            im1/im2/label1/label2).
        pairs_per_split: pairs in every split, or a mapping split -> pairs.
        size: tile edge in pixels.
        gsd: pixel size in metres.
        date1, date2: the two dates (``datetime.date`` or ``YYYY-MM-DD``).
        overwrite: replace ``root`` if it already holds files.
        progress: called with each pair's name once it is written.

    The set is built beside ``root`` under a temporary name and moved into place when complete, so
    a half-written set never looks finished. A STAC ``collection.json`` describes it.
    """
    chosen = _layout(layout)
    counts = _counts(chosen, pairs_per_split)
    if int(size) != size or size < 16:
        raise ConfigError(f"size must be a whole number of at least 16 pixels, got {size!r}")
    if not gsd > 0:
        raise ConfigError(f"gsd must be a positive number of metres, got {gsd!r}")
    first, second = parse_date(date1), parse_date(date2)
    root = Path(root)
    if root.exists() and any(root.iterdir()) and not overwrite:
        raise ConfigError(f"{root} already holds files: choose an empty folder or pass overwrite=True")

    tiles = {
        split: _tiles(seed, i, counts[split], int(size), float(gsd)) for i, split in enumerate(chosen.splits)
    }
    locations = {
        f"{split}_{index}": list(grid.bounds)
        for split in chosen.splits
        for index, grid in enumerate(tiles[split])
    }
    writer = WRITERS[chosen.name](
        root,
        split=None,
        overwrite=overwrite,
        collection_id=f"terrasynth-synthetic-{chosen.name}",
        description=f"Bitemporal change pairs from the terrasynth synthetic world (seed {seed}) in the {chosen.name} layout.",
        bbox=_lonlat_bbox(locations.values()),
        interval=tuple(dt.datetime.combine(date, dt.time()) for date in sorted((first, second))),
        properties={
            "source": "synthetic", "seed": int(seed), "size": int(size), "gsd": float(gsd),
            "date1": first.isoformat(), "date2": second.isoformat(), "crs": CRS, "bounds": locations,
        },
    )  # fmt: skip
    world = SyntheticWorld(seed)
    with writer:
        for split in chosen.splits:
            for index, grid in enumerate(tiles[split]):
                name = f"{split}_{index}"
                _write_pair(writer, split, name, world.render(grid, first), world.render(grid, second))
                if progress:
                    progress(name)
    return root


def _write_pair(
    writer: LevirCDWriter | SecondWriter, split: str, name: str, before: Rendering, after: Rendering
) -> None:
    images = true_colour(before.painted()), true_colour(after.painted())
    if isinstance(writer, LevirCDWriter):
        writer.write(name, *images, before.buildings != after.buildings, split=split)
        return
    classes1 = second_classes(before.landcover, before.buildings)
    classes2 = second_classes(after.landcover, after.buildings)
    writer.write(name, *images, classes1, classes2, classes1 != classes2, split=split)


def _tiles(seed: int, split_index: int, count: int, size: int, gsd: float) -> list[GridSpec]:
    """Grids of ``size`` pixels near the edges of the first ``count`` towns of a split's part of the
    world, their corners on whole multiples of ``gsd`` metres."""
    extent = size * gsd
    if extent > MAX_EXTENT:
        raise ConfigError(f"tiles of {extent:g} m are too large: keep size x gsd at most {MAX_EXTENT:g} m")
    x0 = SPLIT_ORIGIN[0]
    y0 = SPLIT_ORIGIN[1] + split_index * SPLIT_STRIDE
    towns = town_centres(seed, (x0, y0, x0 + SPLIT_SPAN, y0 + SPLIT_SPAN))
    if count > len(towns):
        raise ConfigError(f"at most {len(towns)} pairs per split can be drawn; asked for {count}")
    grids = []
    key = stream(seed, "benchmark-tiles")
    for cx, cy, radius in towns[:count]:
        # Aim at the town's growing edge, in a direction of its own.
        along, across = map(float, draws(hash_ints(key, int(cx), int(cy)), 2))
        dx, dy = along * 2.0 - 1.0, across * 2.0 - 1.0
        norm = max(abs(dx), abs(dy), 1e-9)
        left = math.floor((cx + dx / norm * radius - extent / 2) / gsd) * gsd
        top = math.floor((cy + dy / norm * radius + extent / 2) / gsd) * gsd
        grids.append(GridSpec(CRS, Affine(gsd, 0.0, left, 0.0, -gsd, top), (size, size)))
    return grids


def _layout(name: str) -> ChangeLayout:
    if name not in LAYOUTS:
        raise ConfigError(f"unknown layout {name!r}: choose one of {', '.join(LAYOUTS)}")
    return LAYOUTS[name]


def _counts(layout: ChangeLayout, pairs: int | Mapping[str, int]) -> dict[str, int]:
    counts = dict(pairs) if isinstance(pairs, Mapping) else dict.fromkeys(layout.splits, pairs)
    unknown = set(counts) - set(layout.splits)
    if unknown:
        raise ConfigError(
            f"{layout.name} has splits {', '.join(layout.splits)}; not {', '.join(sorted(unknown))}"
        )
    for split, count in counts.items():
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise ConfigError(f"pairs for split {split} must be a whole number >= 0, got {count!r}")
    if not any(counts.values()):
        raise ConfigError(f"no pairs asked for: give at least one pair in a split of {layout.name}")
    return {split: counts.get(split, 0) for split in layout.splits}


def _lonlat_bbox(bounds) -> tuple[float, float, float, float]:
    to_lonlat = Transformer.from_crs(CRS, "EPSG:4326", always_xy=True)
    corners = np.array(
        [(x, y) for left, bottom, right, top in bounds for x in (left, right) for y in (bottom, top)]
    )
    lon, lat = to_lonlat.transform(corners[:, 0], corners[:, 1])
    return (float(np.min(lon)), float(np.min(lat)), float(np.max(lon)), float(np.max(lat)))
