"""The scene: every generator combined into one material map of the world at one moment.

Layers are laid down in order, each covering the ones before it: the countryside (forest, farmland,
grassland, shrub, bare rock), marshes on lake shores, farmsteads, towns, rivers, roads (bridging
rivers) and finally lakes. Besides the material, the scene carries what the renderer needs to paint
it: per-object tints, the crops' season, building shadows, hill shading and the depth of water.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from terrasynth.ingest.synthetic.buildings import shadow_vector
from terrasynth.ingest.synthetic.farmland import farmland_nodes, farmsteads, parcels_at
from terrasynth.ingest.synthetic.forest import forest_nodes, forest_score, stands_at
from terrasynth.ingest.synthetic.hashing import stream
from terrasynth.ingest.synthetic.lattice import interpolate_fields
from terrasynth.ingest.synthetic.materials import Material
from terrasynth.ingest.synthetic.noise import fbm_on_axes
from terrasynth.ingest.synthetic.roads import road_nodes, roads_at
from terrasynth.ingest.synthetic.terrain import terrain_nodes
from terrasynth.ingest.synthetic.timeline import Moment
from terrasynth.ingest.synthetic.towns import town_layer
from terrasynth.ingest.synthetic.water import water_at, water_nodes

LATTICE = 16.0  # metres between the nodes of the smooth fields
HIGHLAND = 0.5  # elevation above which the land turns to mountain grass and shrub
ROCK = 0.7  # elevation above which it is bare rock


@dataclass(frozen=True)
class Scene:
    """The world at one moment on a sample grid; all arrays are (rows, columns).

    Attributes:
        material: :class:`~terrasynth.ingest.synthetic.materials.Material` codes.
        tint: per-object brightness variation in [-1, 1] (parcels, stands, roofs, blocks).
        green, ripe: cover fractions of green and ripe crop on cropland (0 elsewhere).
        shadow: in a building's shadow.
        relief: hill-shading brightness factor (1 on flat ground).
        depth: lake depth below the water line in elevation units (> 0 in lakes).
    """

    material: np.ndarray
    tint: np.ndarray
    green: np.ndarray
    ripe: np.ndarray
    shadow: np.ndarray
    relief: np.ndarray
    depth: np.ndarray


def _nodes(seed: int):
    def evaluate(x: np.ndarray, y: np.ndarray) -> dict[str, np.ndarray]:
        fields = {}
        for nodes in (terrain_nodes, water_nodes, road_nodes, forest_nodes, farmland_nodes):
            fields.update(nodes(seed, x, y, LATTICE))
        return fields

    return evaluate


def build_scene(seed: int, x: np.ndarray, y: np.ndarray, moment: Moment) -> Scene:
    """The scene on the grid of sample coordinates ``x`` (columns) by ``y`` (rows), metres."""
    fields = interpolate_fields(_nodes(seed), LATTICE, x, y)
    shape = (len(y), len(x))
    elevation, moisture = fields["elevation"], fields["moisture"]
    detail = fbm_on_axes(x, y, 160.0, 3, stream(seed, "detail"))
    tint = np.zeros(shape)
    green = np.zeros(shape)
    ripe = np.zeros(shape)

    # Countryside.
    material = np.where(detail > 0.2, Material.SHRUB, Material.GRASS)
    dry = moisture < -0.45
    material = np.where(dry, np.where(detail < -0.15, Material.SOIL, Material.SHRUB), material)
    material = np.where(
        elevation > HIGHLAND, np.where(detail > 0.0, Material.SHRUB, Material.GRASS), material
    )
    material = np.where(elevation + 0.1 * detail > ROCK, Material.ROCK, material).astype(np.uint8)
    woods = forest_score(fields) > 0.0
    farms = ~woods & (fields["farming"] > -0.3) & (elevation < 0.4) & ~dry
    rows, columns = np.nonzero(woods)
    if len(rows):
        stands = stands_at(
            seed,
            x[columns],
            y[rows],
            fields["stand_dx"][rows, columns],
            fields["stand_dy"][rows, columns],
            moment,
        )
        material[rows, columns] = stands.material
        tint[rows, columns] = stands.tint
    rows, columns = np.nonzero(farms)
    if len(rows):
        parcels = parcels_at(
            seed,
            x[columns],
            y[rows],
            fields["district_dx"][rows, columns],
            fields["district_dy"][rows, columns],
            moment,
        )
        material[rows, columns] = parcels.material
        tint[rows, columns] = parcels.tint
        green[rows, columns] = parcels.green
        ripe[rows, columns] = parcels.ripe

    water = water_at(seed, fields, moment)
    material = np.where(water.wetland, Material.WETLAND, material)

    # Settlements.
    shadow = shadow_vector(moment.winter)
    garden = fbm_on_axes(x, y, 24.0, 2, stream(seed, "gardens"))
    towns = town_layer(seed, x, y, moment, shadow, garden)
    open_land = ~woods & ~towns.developed & ~water.wetland
    farm_shadow = _place_farmsteads(seed, x, y, moment, shadow, open_land, material, tint)
    material = np.where(towns.material > 0, towns.material, material)
    tint = np.where(towns.material > 0, towns.tint, tint)

    # Water and roads.
    material = np.where(water.river, Material.WATER, material)
    main_road, lane = roads_at(fields)
    material = np.where((main_road | lane) & ~towns.developed, Material.ROAD, material)
    material = np.where(towns.material == Material.ROAD, Material.ROAD, material)
    material = np.where(water.lake, Material.WATER, material).astype(np.uint8)
    crop = material == Material.CROP
    return Scene(
        material=material,
        tint=tint,
        green=np.where(crop, green, 0.0),
        ripe=np.where(crop, ripe, 0.0),
        shadow=(towns.shadow | farm_shadow) & ~water.lake,
        relief=fields["relief"],
        depth=np.where(water.lake, water.depth, 0.0),
    )


def _place_farmsteads(
    seed: int,
    x: np.ndarray,
    y: np.ndarray,
    moment: Moment,
    shadow: tuple[float, float],
    open_land: np.ndarray,
    material: np.ndarray,
    tint: np.ndarray,
) -> np.ndarray:
    """Paint farmyards and farm buildings standing on open land into ``material`` and ``tint``
    (in place); returns where their shadows fall."""
    steads = farmsteads(seed, x, y)
    rows, columns = steads.rows, steads.columns
    shaded = np.zeros(material.shape, bool)
    if not len(rows):
        return shaded
    fx, fy = x[columns], y[rows]
    here = open_land[rows, columns]
    yard = here & steads.yard.standing(moment.year) & steads.yard.covers(fx, fy)
    material[rows, columns] = np.where(yard, Material.PAVED, material[rows, columns])
    standing = steads.buildings.standing(moment.year)
    hit = standing & steads.buildings.covers(fx, fy)
    roofed = here & hit.any(axis=0)
    first, points = np.argmax(hit, axis=0), np.arange(len(rows))
    material[rows, columns] = np.where(roofed, steads.buildings.roof[first, points], material[rows, columns])
    tint[rows, columns] = np.where(roofed, steads.buildings.tint[first, points], tint[rows, columns])
    cast = standing & steads.buildings.shades(fx, fy, shadow[0], shadow[1])
    shaded[rows, columns] = here & ~roofed & cast.any(axis=0)
    return shaded
