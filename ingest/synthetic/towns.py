"""Towns: street grids whose blocks are developed as the town grows, with buildings along the streets.

Each cell of a :data:`TOWN_CELL` lattice may hold a town: a centre, a radius, an orientation, a
block size and a typical building width. Its streets form a grid of blocks in the town's rotated
frame (``u`` along its first axis, ``v`` across, metres from the centre). A block is developed in a
year that depends on its distance from the centre and on noise, so towns grow outward over the
years: first the streets and bare building sites, then buildings and gardens. Buildings stand in
slots along the four sides of a block, set back from the street. Central blocks are dense (larger,
taller buildings on paved ground); a few blocks are industrial (one large hall) or parks. Two main
roads cross each town along its axes and run out into the country.

Blocks and building slots are evaluated once per distinct block or slot among the points asked
about, then spread to the points: many points share one building.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from terrasynth.ingest.synthetic.buildings import SHADOW_CAP, Footprints, rotation
from terrasynth.ingest.synthetic.hashing import draws, hash_ints, per_cell, stream
from terrasynth.ingest.synthetic.materials import Material
from terrasynth.ingest.synthetic.noise import value_noise
from terrasynth.ingest.synthetic.timeline import Moment, event_year

TOWN_CELL = 6000.0  # metres: at most one town per cell
TOWN_CHANCE = 0.7
STREET_HALF = 4.5  # metres: half the width of a street
MAIN_ROAD_HALF = 6.0  # metres: half the width of the two main roads
REACH = 2.3  # towns never extend beyond this many radii from their centre
GROWTH = 0.02  # town outlines move outward by this fraction of the radius per year
SETTLED = 2020.0  # blocks of intensity 0 are developed in this year
BUILDING_SITE_YEARS = 1.2  # a newly developed block stays bare this long
DEMOLITION_CHANCE = 0.06  # of buildings in slots, demolished once
LOT_CLEARED_YEARS = 1.5  # the footprint of a demolished building stays bare this long
RESIDENTIAL, DENSE, INDUSTRIAL, PARK = 0, 1, 2, 3


@dataclass(frozen=True)
class TownLayer:
    """What towns put on a sample grid (all (rows, columns) arrays).

    Attributes:
        material: the town's material, 0 where no town is.
        tint: brightness variation of roofs and block grounds, in [-1, 1].
        developed: inside a developed block, or on a street or main road.
        shadow: in the shadow of a building.
    """

    material: np.ndarray
    tint: np.ndarray
    developed: np.ndarray
    shadow: np.ndarray


def town_layer(
    seed: int, x: np.ndarray, y: np.ndarray, moment: Moment, shadow: tuple[float, float], garden: np.ndarray
) -> TownLayer:
    """Towns on the grid of ``x`` (columns) by ``y`` (rows), metres, at ``moment``.

    ``shadow`` is the shadow vector (metres per metre of height) and ``garden`` a noise field in
    [-1, 1] on the same grid that places trees in gardens and parks.
    """
    shape = (len(y), len(x))
    layer = TownLayer(
        np.zeros(shape, np.uint8), np.zeros(shape), np.zeros(shape, bool), np.zeros(shape, bool)
    )
    year = moment.year
    cells = per_cell(x, y, TOWN_CELL, lambda c, r: _town_parameters(seed, c, r))
    dx, dy = x[None, :] - cells.full("cx"), y[:, None] - cells.full("cy")
    # Beyond this many radii no block is developed yet, nor does a main road run.
    extent = min(REACH, max(2.0, 1.6 + GROWTH * (year - SETTLED)))
    reach = cells.full("radius") * extent + 120.0
    rows, columns = np.nonzero(cells.full("exists") & (dx * dx + dy * dy < reach * reach))
    if not len(rows):
        return layer
    town = cells.at(rows, columns)
    town["cell"] = cells.cell(rows, columns)
    dx, dy = dx[rows, columns], dy[rows, columns]
    u, v = dx * town["cos"] + dy * town["sin"], dy * town["cos"] - dx * town["sin"]

    bi, bj = np.floor(u / town["block_u"]), np.floor(v / town["block_v"])
    block = _blocks(town, bi, bj)
    built_up = block["developed"] <= year
    lu, lv = u - bi * town["block_u"], v - bj * town["block_v"]

    # Streets between blocks where either neighbour is developed, and the two main roads.
    street = np.zeros_like(built_up)
    neighbour_built = np.zeros_like(built_up)
    for along_u, local, size in ((True, lu, town["block_u"]), (False, lv, town["block_v"])):
        step = np.where(local < size / 2, -1.0, 1.0)
        neighbour = _blocks(town, bi + step, bj) if along_u else _blocks(town, bi, bj + step)
        built = neighbour["developed"] <= year
        street |= (np.minimum(local, size - local) < STREET_HALF) & (built_up | built)
        neighbour_built |= built
    main_reach = 2.0 * town["radius"]
    main = (town["founded"] <= year) & (
        ((np.abs(v) < MAIN_ROAD_HALF) & (np.abs(u) < main_reach))
        | ((np.abs(u) < MAIN_ROAD_HALF) & (np.abs(v) < main_reach))
    )

    # Block grounds: building sites, gardens, paved centres and parks.
    trees = garden[rows, columns]
    kind = block["kind"]
    ground = np.where(trees > 0.3, Material.TREE, Material.GRASS)
    ground = np.where(kind == DENSE, np.where(trees > 0.55, Material.TREE, Material.PAVED), ground)
    ground = np.where(kind == INDUSTRIAL, Material.PAVED, ground)
    ground = np.where(kind == PARK, np.where(trees > 0.0, Material.TREE, Material.GRASS), ground)
    ground = np.where(year < block["developed"] + BUILDING_SITE_YEARS, Material.SOIL, ground)
    material = np.where(built_up, ground, 0).astype(np.uint8)
    tint = np.where(built_up, block["tint"], 0.0)
    shaded = np.zeros_like(built_up)

    # Buildings (and their shadows) only matter in and next to developed blocks.
    active = np.nonzero(built_up | neighbour_built)[0]
    if len(active):
        t = _take(town, active)
        au, av = u[active], v[active]
        here = _footprints(t, bi[active], bj[active], lu[active], lv[active], _take(block, active))
        inside = here.covers(au, av)
        roof_hit = inside & here.standing(year)
        roofed = roof_hit.any(axis=0)
        first = np.argmax(roof_hit, axis=0)
        points = np.arange(len(active))
        lots = (
            inside & here.present & (here.demolished <= year) & (year < here.demolished + LOT_CLEARED_YEARS)
        )
        material[active] = np.where(lots.any(axis=0), Material.SOIL, material[active])
        material[active] = np.where(roofed, here.roof[first, points], material[active])
        tint[active] = np.where(roofed, here.tint[first, points], tint[active])

        # Shadows fall on open ground. Casters are proposed at the point and at points up to the
        # longest shadow towards the sun (closer together than the narrowest slot, so none is
        # skipped), then each is tested exactly with its own shadow length.
        ground = np.nonzero(~roofed)[0]
        t, gu, gv = _take(t, ground), au[ground], av[ground]
        sx = shadow[0] * t["cos"] + shadow[1] * t["sin"]
        sy = shadow[1] * t["cos"] - shadow[0] * t["sin"]
        longest = SHADOW_CAP / np.sqrt(sx * sx + sy * sy)
        casters = [Footprints(*(getattr(here, f)[:, ground] for f in Footprints.__dataclass_fields__))]
        for fraction in (0.5, 1.0):
            qu, qv = gu - sx * longest * fraction, gv - sy * longest * fraction
            qi, qj = np.floor(qu / t["block_u"]), np.floor(qv / t["block_v"])
            lu_q, lv_q = qu - qi * t["block_u"], qv - qj * t["block_v"]
            casters.append(_footprints(t, qi, qj, lu_q, lv_q, _blocks(t, qi, qj)))
        candidates = Footprints.concatenate(casters)
        cast = candidates.standing(year) & candidates.shades(gu, gv, sx, sy)
        shaded[active[ground]] = cast.any(axis=0)

    layer.material[rows, columns] = np.where(street | main, Material.ROAD, material)
    layer.tint[rows, columns] = tint
    layer.developed[rows, columns] = built_up | street | main
    layer.shadow[rows, columns] = shaded
    return layer


def _town_parameters(seed: int, column: np.ndarray, row: np.ndarray) -> dict[str, np.ndarray]:
    key = hash_ints(stream(seed, "towns"), column, row)
    chance, px, py, size, turn, bu, bv, slot = draws(key, 8)
    cos, sin = rotation(turn * 2.0 - 1.0)
    town = {
        "exists": chance < TOWN_CHANCE,
        "cx": (column + 0.4 + 0.2 * px) * TOWN_CELL,
        "cy": (row + 0.4 + 0.2 * py) * TOWN_CELL,
        "radius": 200.0 + 800.0 * size * size,
        "cos": cos,
        "sin": sin,
        "block_u": 60.0 + 60.0 * bu,
        "block_v": 40.0 + 30.0 * bv,
        "slot": 12.0 + 8.0 * slot,
        "key": key,
    }
    zero = np.zeros(key.shape)
    town["founded"] = _block_values(town, zero, zero)["developed"]
    return town


def _blocks(town: dict[str, np.ndarray], bi: np.ndarray, bj: np.ndarray) -> dict[str, np.ndarray]:
    """Per point, its block's values (see :func:`_block_values`), computed once per distinct block."""
    first, spread = _distinct(town["cell"], bi, bj)
    values = _block_values(_take(town, first), bi[first], bj[first])
    return _take(values, spread)


def _block_values(town: dict[str, np.ndarray], bi: np.ndarray, bj: np.ndarray) -> dict[str, np.ndarray]:
    """A block's id hash, kind, year of development and ground tint."""
    key = hash_ints(town["key"], bi, bj)
    jitter, kind_draw, tint = draws(key, 3)
    cu, cv = (bi + 0.5) * town["block_u"], (bj + 0.5) * town["block_v"]
    distance = np.sqrt(cu * cu + cv * cv) / town["radius"]
    intensity = (
        1.0 - distance + 0.35 * value_noise(bi + 0.5, bj + 0.5, 4.0, town["key"]) + 0.1 * (jitter - 0.5)
    )
    developed = np.where(distance < REACH - 0.1, SETTLED - intensity / GROWTH, np.inf)
    kind = np.where(intensity > 0.55, DENSE, RESIDENTIAL)
    kind = np.where((kind_draw < 0.1) & (intensity < 0.5), INDUSTRIAL, kind)
    kind = np.where((kind_draw > 0.95) & (distance > 0.2), PARK, kind)
    return {"key": key, "kind": kind, "developed": developed, "tint": tint * 2.0 - 1.0}


def _footprints(
    town: dict[str, np.ndarray],
    bi: np.ndarray,
    bj: np.ndarray,
    lu: np.ndarray,
    lv: np.ndarray,
    block: dict[str, np.ndarray],
) -> Footprints:
    """The five candidate buildings of each point's block: the slot on each side level with the
    point, and the block's central hall; in the town frame. ``lu``, ``lv`` are the points' offsets
    within their blocks (metres)."""
    dense = block["kind"] == DENSE
    slot = town["slot"] * np.where(dense, 1.6, 1.0)
    corner = STREET_HALF + np.where(dense, 22.0, 15.0)
    candidates = []
    for side in range(4):
        along_u = side in (0, 2)
        start = 0.0 if along_u else corner
        length = town["block_u"] if along_u else town["block_v"] - 2 * corner
        count = np.floor(length / slot)
        offset = start + (length - count * slot) / 2
        index = np.clip(np.floor(((lu if along_u else lv) - offset) / slot), -1, count)
        first, spread = _distinct(town["cell"], bi, bj, side * 1000 + index)
        pick = _take(town, first)
        footprint = _slot_building(
            pick, _take(block, first), bi[first], bj[first], side, index[first], count[first], offset[first]
        )
        candidates.append(
            Footprints(*(getattr(footprint, f)[spread] for f in Footprints.__dataclass_fields__))
        )
    first, spread = _distinct(town["cell"], bi, bj)
    hall = _hall(_take(town, first), _take(block, first), bi[first], bj[first])
    candidates.append(Footprints(*(getattr(hall, f)[spread] for f in Footprints.__dataclass_fields__)))
    return Footprints.stack(candidates)


def _slot_building(
    town: dict[str, np.ndarray],
    block: dict[str, np.ndarray],
    bi: np.ndarray,
    bj: np.ndarray,
    side: int,
    index: np.ndarray,
    count: np.ndarray,
    offset: np.ndarray,
) -> Footprints:
    """The building in slot ``index`` along ``side`` (0 south, 1 east, 2 north, 3 west in the town
    frame) of blocks (``bi``, ``bj``)."""
    dense = block["kind"] == DENSE
    housing = (block["kind"] == RESIDENTIAL) | dense
    slot = town["slot"] * np.where(dense, 1.6, 1.0)
    along_u = side in (0, 2)
    key = hash_ints(block["key"], index * 4 + side)
    present, width, depth, setback, turn, height, roof, lag, shift, fate, when, tint = draws(key, 12)
    width = slot * (0.55 + 0.35 * width)
    setback = np.where(dense, 0.5 + 1.5 * setback, 1.5 + 4.0 * setback)
    across = town["block_v"] if along_u else town["block_u"]
    depth = np.minimum(
        np.where(dense, 12.0 + 8.0 * depth, 8.0 + 6.0 * depth), across / 2 - STREET_HALF - setback - 1
    )
    centre_along = offset + (index + 0.5) * slot + (slot - width) * (shift - 0.5)
    centre_across = STREET_HALF + setback + depth / 2
    if side in (1, 2):
        centre_across = across - centre_across
    cu, cv = (centre_along, centre_across) if along_u else (centre_across, centre_along)
    cos, sin = rotation(0.08 * (turn * 2.0 - 1.0))
    if not along_u:
        cos, sin = -sin, cos
    return Footprints(
        present=housing
        & (present < np.where(dense, 0.95, 0.82))
        & (index >= 0)
        & (index < count)
        & (depth > 3),
        cx=bi * town["block_u"] + cu,
        cy=bj * town["block_v"] + cv,
        cos=cos,
        sin=sin,
        half_length=width / 2,
        half_width=depth / 2,
        height=np.where(dense, 10.0 + 16.0 * height, 4.0 + 5.0 * height),
        built=block["developed"] + 0.3 + 2.2 * lag,
        demolished=event_year(fate, when, DEMOLITION_CHANCE),
        roof=_roof(roof, dense),
        tint=tint * 2.0 - 1.0,
    )


def _hall(
    town: dict[str, np.ndarray], block: dict[str, np.ndarray], bi: np.ndarray, bj: np.ndarray
) -> Footprints:
    """The one large hall of an industrial block (absent elsewhere)."""
    shift_u, shift_v, length, width, height, lag = draws(hash_ints(block["key"], 99), 6)
    return Footprints(
        present=block["kind"] == INDUSTRIAL,
        cx=(bi + 0.5) * town["block_u"] + 6.0 * (shift_u - 0.5),
        cy=(bj + 0.5) * town["block_v"] + 6.0 * (shift_v - 0.5),
        cos=np.ones_like(bi),
        sin=np.zeros_like(bi),
        half_length=(town["block_u"] / 2 - STREET_HALF - 5.0) * (0.6 + 0.3 * length),
        half_width=(town["block_v"] / 2 - STREET_HALF - 5.0) * (0.6 + 0.3 * width),
        height=7.0 + 5.0 * height,
        built=block["developed"] + 0.5 + 1.5 * lag,
        demolished=np.full_like(bi, np.inf),
        roof=np.where(height < 0.6, Material.ROOF_METAL, Material.ROOF_CONCRETE).astype(np.uint8),
        tint=shift_u * 2.0 - 1.0,
    )


def _roof(draw: np.ndarray, dense: np.ndarray) -> np.ndarray:
    """Roof material: mostly tiles on houses, mostly concrete and dark roofs on dense blocks."""
    kinds = [Material.ROOF_TILE, Material.ROOF_CONCRETE, Material.ROOF_DARK]
    houses = np.select([draw < 0.5, draw < 0.72, draw < 0.92], kinds, Material.ROOF_METAL)
    blocks = np.select([draw < 0.15, draw < 0.6, draw < 0.9], kinds, Material.ROOF_METAL)
    return np.where(dense, blocks, houses).astype(np.uint8)


def _distinct(*ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For small whole-number arrays naming objects (town cell, block, slot), the index of one
    point per distinct object and, per point, which distinct object it is."""
    packed = np.zeros(len(ids[0]), np.int64)
    for value in ids:
        packed = packed * 8192 + (np.asarray(value).astype(np.int64) + 4096)
    _, first, spread = np.unique(packed, return_index=True, return_inverse=True)
    return first, spread


def _take(values: dict[str, np.ndarray], index: np.ndarray) -> dict[str, np.ndarray]:
    return {name: value[index] for name, value in values.items()}


def town_centres(seed: int, bounds: tuple[float, float, float, float]) -> list[tuple[float, float, float]]:
    """The towns whose cells lie in ``bounds`` (left, bottom, right, top; metres), as (x, y, radius)
    in metres, ordered row by row from the south-west."""
    left, bottom, right, top = bounds
    columns = np.arange(np.ceil(left / TOWN_CELL), np.floor(right / TOWN_CELL)).astype(np.int64)
    rows = np.arange(np.ceil(bottom / TOWN_CELL), np.floor(top / TOWN_CELL)).astype(np.int64)
    towns = _town_parameters(seed, columns[None, :], rows[:, None])
    found = np.nonzero(towns["exists"])
    return [
        (float(towns["cx"][r, c]), float(towns["cy"][r, c]), float(towns["radius"][r, c]))
        for r, c in zip(*found, strict=True)
    ]
