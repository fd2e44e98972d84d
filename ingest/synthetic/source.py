"""The synthetic world as a corpus source: the embedded default, needing no network or credentials."""

from __future__ import annotations

import math

import numpy as np
import rioxarray  # noqa: F401  (registers the .rio accessor)
import xarray as xr

from terrasynth.core.corpus import REFLECTANCE_SCALE
from terrasynth.core.errors import ConfigError, SourceError
from terrasynth.core.grid import GridSpec
from terrasynth.core.landcover import (
    BUILDING,
    DYNAMIC_WORLD,
    WORLDCOVER,
    WORLDCOVER_TO_DYNAMIC_WORLD,
    remap,
    with_buildings,
)
from terrasynth.core.levels import Level
from terrasynth.ingest.source import Source
from terrasynth.ingest.synthetic.sampling import DEFAULT_PITCH
from terrasynth.ingest.synthetic.timeline import DateLike, parse_date
from terrasynth.ingest.synthetic.world import SyntheticWorld


class SyntheticSource(Source):
    """Imagery, land cover and validity from :class:`SyntheticWorld` on any grid.

    Args:
        seed: the world.
        date: the acquisition date (``datetime.date`` or ``YYYY-MM-DD``).
        clouds: False (clear sky), True (the date's own weather) or the fraction of sky covered
            (0-1); cloudy pixels are not valid.
        haze: add the date's haze.
        noise: add sensor noise.
        pitch: metres between the samples that coarser pixels average (see
            :mod:`~terrasynth.ingest.synthetic.sampling`).
        legend: ``"esa-worldcover"`` codes, or ``"dynamic-world"`` (converted with
            :data:`~terrasynth.core.landcover.WORLDCOVER_TO_DYNAMIC_WORLD`).
        buildings: burn the building footprints (pixels at least half covered by a roof) into the
            land cover as :data:`~terrasynth.core.landcover.BUILDING`, so that change models can act
            on building instances; the legend is then ``<legend>+buildings``.
    """

    name = "synthetic"

    def __init__(
        self,
        seed: int = 0,
        date: DateLike = "2021-06-01",
        clouds: bool | float = False,
        *,
        haze: bool = True,
        noise: bool = True,
        pitch: float = DEFAULT_PITCH,
        legend: str = WORLDCOVER.scheme,
        buildings: bool = True,
    ):
        if not isinstance(clouds, bool) and not (isinstance(clouds, int | float) and 0.0 <= clouds <= 1.0):
            raise ConfigError(
                f"clouds must be true, false or a fraction of sky between 0 and 1, got {clouds!r}"
            )
        if not (isinstance(pitch, int | float) and pitch > 0 and math.isfinite(pitch)):
            raise ConfigError(f"pitch must be a positive number of metres, got {pitch!r}")
        legends = {table.scheme: table for table in (WORLDCOVER, DYNAMIC_WORLD)}
        if legend not in legends:
            raise ConfigError(f"unknown land-cover legend {legend!r}: choose one of {', '.join(legends)}")
        self.legend = legends[legend]
        self.buildings = bool(buildings)
        self.classes = with_buildings(self.legend) if self.buildings else self.legend
        self.world = SyntheticWorld(seed, pitch=pitch)
        self.date = parse_date(date)
        self.clouds = clouds
        self.haze = bool(haze)
        self.noise = bool(noise)

    def bands(self, level: Level) -> list[str]:
        return list(self.world.bands)

    def read(self, grid: GridSpec, level: Level) -> xr.Dataset:
        level = Level.parse(level)
        if not math.isclose(grid.resolution, level.gsd, rel_tol=1e-9):
            raise SourceError(
                f"grid pixels are {grid.resolution:g} m but level {level.name} is {level.gsd:g} m; "
                "pass the level's own grid"
            )
        rendering = self.world.render(grid, self.date, clouds=self.clouds, haze=self.haze, noise=self.noise)
        landcover = rendering.landcover
        if self.buildings:
            landcover = np.where(rendering.buildings, np.uint8(BUILDING), landcover)
        if self.legend is DYNAMIC_WORLD:
            landcover = remap(landcover, WORLDCOVER_TO_DYNAMIC_WORLD)
        x, y = grid.coords()
        dataset = xr.Dataset(
            {
                "image": (
                    ("band", "y", "x"),
                    rendering.image,
                    {
                        "long_name": "surface reflectance",
                        "units": "1",
                        "reflectance_scale": REFLECTANCE_SCALE,
                    },
                ),
                "landcover": (
                    ("y", "x"),
                    landcover,
                    {"long_name": "land cover", **self.classes.to_attrs()},
                ),
                "valid": (("y", "x"), rendering.valid, {"long_name": "observed (not cloud)"}),
            },
            coords={
                "band": ("band", np.array(self.bands(level), dtype=object)),
                "y": ("y", y, {"standard_name": "projection_y_coordinate", "units": "m", "axis": "Y"}),
                "x": ("x", x, {"standard_name": "projection_x_coordinate", "units": "m", "axis": "X"}),
            },
            attrs={"source": self.name, "date": self.date.isoformat(), "gsd": level.gsd},
        )
        return dataset.rio.write_crs(grid.crs).rio.write_transform(grid.transform)

    def describe(self) -> dict:
        return {
            "name": self.name,
            "seed": self.world.seed,
            "date": self.date.isoformat(),
            "clouds": self.clouds,
            "haze": self.haze,
            "noise": self.noise,
            "pitch": self.world.pitch,
            "legend": self.legend.scheme,
            "buildings": self.buildings,
            "bands": list(self.world.bands),
        }
