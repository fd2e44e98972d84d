"""Areas of interest: parsed from GeoJSON, a bounding box or WKT, validated, and split into regions.

An area is held in longitude/latitude (EPSG:4326, degrees). A region is a part of it with its own
UTM zone (metres), so every region of a corpus has an undistorted grid of its own.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import shapely
from pyproj import Transformer
from rasterio.features import geometry_mask
from shapely.geometry import MultiPolygon, Polygon, box, mapping, shape
from shapely.geometry.base import BaseGeometry

from terrasynth.core.errors import AOIError
from terrasynth.core.grid import Bounds, GridSpec, aligned_grids
from terrasynth.core.levels import Level

UTM_ZONE_WIDTH = 6.0  # degrees of longitude
UTM_SOUTH_LIMIT, UTM_NORTH_LIMIT = -80.0, 84.0  # degrees of latitude that UTM covers


@dataclass(frozen=True)
class Region:
    """A connected part of an area of interest on one UTM grid.

    Attributes:
        name: the corpus group name, e.g. ``"r00_utm32n"``.
        geometry: the part of the area, in longitude/latitude degrees.
        crs: its UTM zone as ``"EPSG:326zz"`` (north) or ``"EPSG:327zz"`` (south).
    """

    name: str
    geometry: BaseGeometry
    crs: str

    @cached_property
    def projected(self) -> BaseGeometry:
        """The geometry in the region's UTM CRS (metres), edges densified before projecting."""
        to_utm = Transformer.from_crs("EPSG:4326", self.crs, always_xy=True)
        return shapely.transform(
            shapely.segmentize(self.geometry, 0.01),
            lambda xy: np.column_stack(to_utm.transform(xy[:, 0], xy[:, 1])),
        )

    @property
    def bounds(self) -> Bounds:
        """(left, bottom, right, top) in metres of the region's UTM CRS."""
        return tuple(self.projected.bounds)

    def grids(self, levels: Sequence[Level]) -> dict[str, GridSpec]:
        """One grid per level, sharing origin and extent (see :func:`aligned_grids`)."""
        return aligned_grids(self.bounds, self.crs, levels)

    def inside(self, grid: GridSpec) -> np.ndarray:
        """Boolean (rows, columns) array: True for pixels whose centre lies in the region."""
        return geometry_mask([self.projected], out_shape=grid.shape, transform=grid.transform, invert=True)


@dataclass(frozen=True)
class AreaOfInterest:
    """A validated polygonal area in longitude/latitude degrees (EPSG:4326).

    Areas that cross the antimeridian are stored split at it, as RFC 7946 asks.
    """

    geometry: BaseGeometry

    def __post_init__(self):
        object.__setattr__(self, "geometry", _validated(self.geometry))

    @classmethod
    def parse(cls, text: str | Path) -> AreaOfInterest:
        """An area from a GeoJSON/WKT file path, a ``west,south,east,north`` bbox, GeoJSON text or WKT."""
        value = str(text).strip()
        if not value:
            raise AOIError(
                "the area of interest is empty: give a bbox 'west,south,east,north', GeoJSON or WKT"
            )
        path = Path(value)
        if path.suffix.lower() in {".geojson", ".json", ".wkt"} or _is_file(path):
            if not path.is_file():
                raise AOIError(f"area-of-interest file {value} does not exist")
            return cls.parse_text(path.read_text(), origin=str(path))
        return cls.parse_text(value, origin="--aoi")

    @classmethod
    def parse_text(cls, text: str, *, origin: str = "area of interest") -> AreaOfInterest:
        """An area from bbox, GeoJSON or WKT text; ``origin`` names the input in errors."""
        text = text.strip()
        if text.startswith("{"):
            try:
                return cls.from_geojson(json.loads(text))
            except json.JSONDecodeError as error:
                raise AOIError(f"{origin} is not valid JSON: {error.msg} at line {error.lineno}") from None
        parts = text.replace(" ", "").split(",")
        if len(parts) == 4 and all(_is_number(p) for p in parts):
            return cls.from_bbox(*map(float, parts))
        return cls.from_wkt(text, origin=origin)

    @classmethod
    def from_bbox(cls, west: float, south: float, east: float, north: float) -> AreaOfInterest:
        """An area from degrees; ``west > east`` means the box crosses the antimeridian."""
        _check_range([(west, south), (east, north)])
        if south >= north:
            raise AOIError(f"bbox south {south} must be below north {north} (order: west,south,east,north)")
        if west == east:
            raise AOIError(f"bbox west and east are both {west}: the box is empty")
        if west < east:
            return cls(box(west, south, east, north))
        return cls(MultiPolygon([box(west, south, 180.0, north), box(-180.0, south, east, north)]))

    @classmethod
    def square(cls, centre: tuple[float, float], side: float) -> AreaOfInterest:
        """A square of about ``side`` metres around ``centre`` (longitude, latitude in degrees), its
        edges along meridians and parallels (degrees from metres: :func:`metres_per_degree`)."""
        lon, lat = centre
        along_lon, along_lat = metres_per_degree(lat)
        half_lon = side / 2 / along_lon
        half_lat = side / 2 / along_lat
        return cls.from_bbox(lon - half_lon, lat - half_lat, lon + half_lon, lat + half_lat)

    @classmethod
    def from_geojson(cls, obj: dict) -> AreaOfInterest:
        """An area from a GeoJSON Geometry, Feature or FeatureCollection (the union of its polygons)."""
        if not isinstance(obj, dict) or "type" not in obj:
            raise AOIError(
                "GeoJSON area must be an object with a 'type' (Feature, FeatureCollection, Polygon)"
            )
        kind = obj["type"]
        if kind == "FeatureCollection":
            geometries = [feature.get("geometry") for feature in obj.get("features", [])]
        elif kind == "Feature":
            geometries = [obj.get("geometry")]
        else:
            geometries = [obj]
        polygons = []
        for geometry in geometries:
            if not geometry:
                raise AOIError("GeoJSON feature has no geometry")
            try:
                parsed = shape(geometry)
            except Exception as error:
                raise AOIError(f"GeoJSON geometry cannot be read: {error}") from None
            polygons.extend(_polygons(parsed))
        if not polygons:
            raise AOIError("GeoJSON area holds no polygons")
        return cls(MultiPolygon(polygons) if len(polygons) > 1 else polygons[0])

    @classmethod
    def from_wkt(cls, text: str, *, origin: str = "WKT") -> AreaOfInterest:
        """An area from a WKT polygon or multipolygon."""
        try:
            geometry = shapely.from_wkt(text)
        except Exception:
            raise AOIError(
                f"{origin} is neither a bbox 'west,south,east,north', GeoJSON, nor WKT: {text[:60]!r}"
            ) from None
        return cls(geometry)

    def to_geojson(self) -> dict:
        """The area as a GeoJSON geometry dict (degrees)."""
        return mapping(self.geometry)

    def regions(self, max_width: float = UTM_ZONE_WIDTH) -> list[Region]:
        """Split the area into regions, one UTM grid each.

        Each polygon is one region in the UTM zone of its centroid when it spans at most ``max_width``
        degrees of longitude (a small area over a zone border stays whole); a wider polygon is cut at
        the zone borders. Parts on either side of the antimeridian are always separate regions.
        """
        pieces: list[BaseGeometry] = []
        for polygon in _polygons(self.geometry):
            west, _, east, _ = polygon.bounds
            if east - west <= max_width:
                pieces.append(polygon)
                continue
            first = math.floor((west + 180.0) / UTM_ZONE_WIDTH)
            last = math.ceil((east + 180.0) / UTM_ZONE_WIDTH)
            for zone_index in range(first, last):
                strip_west = -180.0 + zone_index * UTM_ZONE_WIDTH
                part = polygon.intersection(box(strip_west, -90.0, strip_west + UTM_ZONE_WIDTH, 90.0))
                pieces.extend(p for p in _polygons(part) if p.area > 0)
        regions = []
        for index, piece in enumerate(pieces):
            zone, north = utm_zone(piece.centroid.x, piece.centroid.y)
            crs = f"EPSG:{32600 + zone if north else 32700 + zone}"
            regions.append(Region(f"r{index:02d}_utm{zone:02d}{'n' if north else 's'}", piece, crs))
        return regions


def _is_file(path: Path) -> bool:
    """Whether ``path`` names a file; False for text no file system takes as a name (GeoJSON with
    components longer than a file name may be)."""
    try:
        return path.is_file()
    except OSError:
        return False


def metres_per_degree(lat: float) -> tuple[float, float]:
    """Metres per degree of longitude and of latitude at latitude ``lat`` (degrees), on a sphere:
    111,320 m per degree of longitude at the equator, times the cosine of the latitude; 110,570 m per
    degree of latitude."""
    return 111_320.0 * math.cos(math.radians(lat)), 110_570.0


def utm_zone(lon: float, lat: float) -> tuple[int, bool]:
    """The UTM zone number (1-60) and whether it is the northern hemisphere, for a point in degrees."""
    zone = min(math.floor((lon + 180.0) / UTM_ZONE_WIDTH) + 1, 60)
    return zone, lat >= 0


def _validated(geometry: BaseGeometry) -> BaseGeometry:
    if geometry is None or geometry.is_empty:
        raise AOIError("the area of interest is empty")
    polygons = _polygons(geometry)
    if not polygons:
        raise AOIError(f"the area of interest must be a polygon, got a {geometry.geom_type}")
    fixed = []
    for polygon in polygons:
        coords = np.asarray(polygon.exterior.coords)
        _check_range(coords)
        if not polygon.is_valid:
            reason = shapely.is_valid_reason(polygon)
            raise AOIError(f"the area of interest is not a valid polygon ({reason}); fix its rings")
        if polygon.area == 0:
            raise AOIError("the area of interest has no area")
        fixed.extend(_split_at_antimeridian(polygon))
    south = min(p.bounds[1] for p in fixed)
    north = max(p.bounds[3] for p in fixed)
    if south < UTM_SOUTH_LIMIT or north > UTM_NORTH_LIMIT:
        raise AOIError(
            f"the area reaches latitude {south if south < UTM_SOUTH_LIMIT else north:g}, beyond UTM "
            f"({UTM_SOUTH_LIMIT:g} to {UTM_NORTH_LIMIT:g}); polar areas are not supported"
        )
    return MultiPolygon(fixed) if len(fixed) > 1 else fixed[0]


def _split_at_antimeridian(polygon: Polygon) -> list[Polygon]:
    """A polygon whose edges jump across the antimeridian (span over 180 degrees) split into two."""
    west, _, east, _ = polygon.bounds
    if east - west <= 180.0:
        return [polygon]
    shifted = shapely.transform(polygon, lambda xy: xy + [[360.0, 0.0]] * (xy[:, :1] < 0))
    s_west, _, s_east, _ = shifted.bounds
    if s_east - s_west > 180.0 or not shifted.is_valid:
        raise AOIError("the area spans more than 180 degrees of longitude; split it into smaller areas")
    east_part = shifted.intersection(box(s_west, -90.0, 180.0, 90.0))
    west_part = shapely.transform(
        shifted.intersection(box(180.0, -90.0, s_east, 90.0)), lambda xy: xy - [360.0, 0.0]
    )
    return [p for part in (east_part, west_part) for p in _polygons(part) if p.area > 0]


def _polygons(geometry: BaseGeometry) -> list[Polygon]:
    if isinstance(geometry, Polygon):
        return [geometry]
    if hasattr(geometry, "geoms"):
        return [p for g in geometry.geoms for p in _polygons(g)]
    return []


def _check_range(coords) -> None:
    for lon, lat in np.asarray(coords, dtype=float).reshape(-1, 2):
        if not (-180.0 <= lon <= 180.0 and -90.0 <= lat <= 90.0):
            raise AOIError(
                f"coordinate ({lon:g}, {lat:g}) is out of range: give longitude in [-180, 180] and "
                "latitude in [-90, 90] degrees, longitude first"
            )


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
