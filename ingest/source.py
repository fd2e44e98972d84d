"""The source interface: anything that can fill a level of a corpus on a requested grid.

Three implementations share it: ``earthengine`` (Google Earth Engine), ``local`` (GeoTIFF/COG
files the user has) and ``synthetic`` (the seeded procedural world, the embedded default).
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import xarray as xr

from terrasynth.core.grid import GridSpec
from terrasynth.core.levels import Level


class Source(ABC):
    """Reads imagery, land cover and a validity mask for any grid at any level.

    The date range, collections and other parameters are the source's own settings, given when it
    is built; :meth:`describe` reports them for the corpus' provenance.
    """

    name: str
    """Short name used on the command line: ``earthengine``, ``local`` or ``synthetic``."""

    @abstractmethod
    def bands(self, level: Level) -> list[str]:
        """Band names of the image at ``level``, in the order :meth:`read` returns them."""

    @abstractmethod
    def read(self, grid: GridSpec, level: Level) -> xr.Dataset:
        """The data on exactly ``grid`` (a tile of one level's grid).

        Returns a Dataset with coordinates ``band``, ``y``, ``x`` (pixel centres of ``grid``, CRS
        units) and the corpus variables:

        - ``image (band, y, x)`` uint16 surface reflectance x 1e4 (see ``core.corpus``),
        - ``landcover (y, x)`` uint8 ESA WorldCover codes, 0 = no data,
        - ``valid (y, x)`` bool, False where the image is not observed (clouds, gaps, outside).

        Raises :class:`~terrasynth.core.errors.SourceError` for a permanent failure, naming the
        tile and the cause.
        """

    @abstractmethod
    def describe(self) -> dict:
        """The source's name and parameters, JSON-ready, for provenance. Never credentials."""
