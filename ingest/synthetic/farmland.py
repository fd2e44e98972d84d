"""Farmland: districts of long rectangular parcels, the crops' seasons, and farmsteads.

The lowlands are divided into districts (cells of a warped :data:`DISTRICT` lattice, so their
borders wander). Each district has its own orientation and parcel size; its parcels are strips of
rectangles whose rows are offset like brickwork. A parcel is cropland or pasture, and may be turned
from one to the other in an event year. A cropland parcel grows one crop per year, whose colour
follows the season (sown soil, green, ripe, stubble): that changes the image but not the land
cover. Some districts have hedgerows of trees along their parcel borders. Farmsteads (a barn, a
house, a shed and a yard) are scattered over a :data:`FARM_CELL` lattice.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from terrasynth.ingest.synthetic.buildings import Footprints, rotation
from terrasynth.ingest.synthetic.hashing import draws, hash_ints, per_cell, stream
from terrasynth.ingest.synthetic.materials import Material
from terrasynth.ingest.synthetic.noise import fbm_on_axes
from terrasynth.ingest.synthetic.timeline import Moment, event_year

DISTRICT = 1000.0  # metres: size of a farming district
FARM_CELL = 280.0  # metres: at most one farmstead per cell
FARM_CHANCE = 0.18
NEW_FARM_CHANCE = 0.15  # of farmsteads built between 1990 and 2060 (the rest always stood)
FARM_REACH = 90.0  # metres: a farm's buildings and yard lie this close to its centre
CONVERSION_CHANCE = 0.2  # of parcels switched once between cropland and pasture
MARGIN = 1.2  # metres: half width of the grass strip between parcels
HEDGE = 2.5  # metres: half width of a hedgerow

# Crop calendars: (season fraction, green cover, ripe/yellow cover); the rest is bare soil.
CROPS = {
    "winter cereal": [(0.0, 0.35, 0.0), (0.2, 0.6, 0.0), (0.33, 1.0, 0.0), (0.45, 0.7, 0.3), (0.52, 0.1, 0.9),
                      (0.58, 0.0, 0.35), (0.68, 0.0, 0.05), (0.8, 0.15, 0.0), (0.95, 0.3, 0.0)],
    "maize": [(0.0, 0.0, 0.15), (0.35, 0.0, 0.0), (0.45, 0.2, 0.0), (0.55, 0.9, 0.0), (0.65, 1.0, 0.0),
              (0.72, 0.6, 0.4), (0.8, 0.2, 0.6), (0.85, 0.0, 0.2)],
    "rapeseed": [(0.0, 0.5, 0.0), (0.22, 0.8, 0.0), (0.28, 0.5, 0.5), (0.34, 0.2, 0.9), (0.4, 0.9, 0.1),
                 (0.48, 0.5, 0.4), (0.55, 0.0, 0.3), (0.62, 0.0, 0.0), (0.7, 0.3, 0.0), (0.9, 0.5, 0.0)],
    "fallow": [(0.0, 0.15, 0.0), (0.4, 0.35, 0.05), (0.6, 0.3, 0.15), (0.9, 0.15, 0.0)],
    "ley": [(0.0, 0.6, 0.0), (0.35, 1.0, 0.0), (0.5, 0.8, 0.1), (0.7, 0.9, 0.0), (0.9, 0.6, 0.0)],
}  # fmt: skip
CROP_SHARES = (0.4, 0.28, 0.12, 0.1, 0.1)  # of the names above, in order


@dataclass(frozen=True)
class Parcels:
    """Farmland at some points (1-D arrays).

    Attributes:
        material: CROP, GRASS (pasture and strips between parcels) or TREE (hedgerows).
        green, ripe: the crop's cover fractions at the moment (0 elsewhere).
        tint: per-parcel brightness variation in [-1, 1].
    """

    material: np.ndarray
    green: np.ndarray
    ripe: np.ndarray
    tint: np.ndarray


def farmland_nodes(seed: int, x: np.ndarray, y: np.ndarray, spacing: float) -> dict[str, np.ndarray]:
    """Where farming is done (positive where it is likely) and the warp of the district lattice
    (metres), on the grid of ``x`` by ``y``."""
    return {
        "farming": fbm_on_axes(x, y, 4000.0, 3, stream(seed, "farming")),
        "district_dx": fbm_on_axes(x, y, 900.0, 2, stream(seed, "district-x")) * 180.0,
        "district_dy": fbm_on_axes(x, y, 900.0, 2, stream(seed, "district-y")) * 180.0,
    }


def parcels_at(
    seed: int, x: np.ndarray, y: np.ndarray, warp_x: np.ndarray, warp_y: np.ndarray, moment: Moment
) -> Parcels:
    """Farmland at points (``x``, ``y``, metres) with the district warp interpolated there."""
    di, dj = np.floor((x + warp_x) / DISTRICT), np.floor((y + warp_y) / DISTRICT)
    district = hash_ints(stream(seed, "districts"), di, dj)
    turn, width, length, hedges = draws(district, 4)
    cos, sin = rotation(turn * 2.0 - 1.0)
    width = 35.0 + 75.0 * width
    length = 120.0 + 260.0 * length
    ox, oy = x - di * DISTRICT, y - dj * DISTRICT
    a, b = ox * cos + oy * sin, oy * cos - ox * sin
    row = np.floor(b / width)
    shift = draws(hash_ints(district, row), 1)[0] * length
    column = np.floor((a + shift) / length)
    parcel = hash_ints(district, row, column)
    use, tint, conversion, when = draws(parcel, 4)

    across = b - row * width
    along = a + shift - column * length
    edge = np.minimum(np.minimum(across, width - across), np.minimum(along, length - along))
    hedged = hedges < 0.25
    pasture = (use < 0.18) != (event_year(conversion, when, CONVERSION_CHANCE) <= moment.year)

    crop_index = np.searchsorted(
        np.cumsum(CROP_SHARES), draws(hash_ints(parcel, int(moment.date.year)), 1)[0]
    )
    calendars = [_calendar(moment, knots) for knots in CROPS.values()]
    green = np.array([g for g, _ in calendars])[crop_index]
    ripe = np.array([r for _, r in calendars])[crop_index]

    material = np.where(pasture, Material.GRASS, Material.CROP)
    material = np.where(edge < MARGIN, Material.GRASS, material)
    material = np.where(hedged & (edge < HEDGE), Material.TREE, material).astype(np.uint8)
    crop = material == Material.CROP
    return Parcels(material, np.where(crop, green, 0.0), np.where(crop, ripe, 0.0), tint * 2.0 - 1.0)


def _calendar(moment: Moment, knots: list[tuple[float, float, float]]) -> tuple[float, float]:
    green = moment.cycle([(s, g) for s, g, _ in knots])
    ripe = moment.cycle([(s, r) for s, _, r in knots])
    return green, ripe


@dataclass(frozen=True)
class Farmsteads:
    """The farm buildings and yards near some points of a grid.

    Attributes:
        rows, columns: the grid points near a farm (1-D index arrays); the arrays below hold
            values for these points only.
        buildings: barn, house and shed as footprints of shape (3, points).
        yard: the farmyard, a footprint of height 0 whose "roof" is its paving, shape (points,).
    """

    rows: np.ndarray
    columns: np.ndarray
    buildings: Footprints
    yard: Footprints


def farmsteads(seed: int, x: np.ndarray, y: np.ndarray) -> Farmsteads:
    """The farmsteads on the grid of ``x`` (columns) by ``y`` (rows), metres."""
    cells = per_cell(x, y, FARM_CELL, lambda c, r: _farm_parameters(seed, c, r))
    dx, dy = x[None, :] - cells.full("cx"), y[:, None] - cells.full("cy")
    rows, columns = np.nonzero(cells.full("exists") & (dx * dx + dy * dy < FARM_REACH * FARM_REACH))
    farm = cells.at(rows, columns)
    cos, sin = farm["cos"], farm["sin"]

    def rectangle(index, along, across, half_length, half_width, height, roof, present):
        scale = 0.8 + 0.4 * farm[f"size{index}"]
        return Footprints(
            present=present,
            cx=farm["cx"] + (along * cos - across * sin) * scale,
            cy=farm["cy"] + (along * sin + across * cos) * scale,
            cos=cos,
            sin=sin,
            half_length=half_length * scale,
            half_width=half_width * scale,
            height=np.full(scale.shape, height),
            built=farm["built"],
            demolished=farm["demolished"],
            roof=np.full(scale.shape, roof, np.uint8),
            tint=farm[f"size{index}"] * 2.0 - 1.0,
        )

    everywhere = np.ones(len(rows), bool)
    barn = rectangle(0, 0.0, 0.0, 15.0, 7.0, 7.0, Material.ROOF_METAL, everywhere)
    house = rectangle(1, 24.0, 18.0, 6.5, 5.0, 6.0, Material.ROOF_TILE, farm["size1"] < 0.9)
    shed = rectangle(2, -22.0, 15.0, 5.0, 4.0, 3.5, Material.ROOF_DARK, farm["size2"] < 0.7)
    yard = rectangle(3, 1.0, 8.0, 34.0, 21.0, 0.0, Material.PAVED, everywhere)
    return Farmsteads(rows, columns, Footprints.stack([barn, house, shed]), yard)


def _farm_parameters(seed: int, column: np.ndarray, row: np.ndarray) -> dict[str, np.ndarray]:
    key = hash_ints(stream(seed, "farms"), column, row)
    chance, px, py, turn, new, when, fate, gone, *sizes = draws(key, 12)
    cos, sin = rotation(turn * 2.0 - 1.0)
    margin = 0.3
    return {
        "exists": chance < FARM_CHANCE,
        "cx": (column + margin + (1 - 2 * margin) * px) * FARM_CELL,
        "cy": (row + margin + (1 - 2 * margin) * py) * FARM_CELL,
        "cos": cos,
        "sin": sin,
        "built": np.where(new < NEW_FARM_CHANCE, event_year(new, when, NEW_FARM_CHANCE), -np.inf),
        "demolished": event_year(fate, gone, 0.04),
        **{f"size{index}": size for index, size in enumerate(sizes)},
    }
