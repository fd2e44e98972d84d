"""The source interface: anything that can fill a level of a corpus on a requested grid.

Three implementations share it: ``earthengine`` (Google Earth Engine), ``local`` (GeoTIFF/COG
files the user has) and ``synthetic`` (the seeded procedural world, the embedded default).

A source is built on the client from plain settings and shipped (pickled) to every Dask worker,
so it must hold settings only: no open connections, no credentials. Anything a process needs
before reading (authentication, say) happens in :meth:`Source.setup`, which the ingest calls once
in each process.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

import xarray as xr

from terrasynth.core.aoi import AreaOfInterest
from terrasynth.core.corpus import REFLECTANCE_ATTRS
from terrasynth.core.grid import GridSpec
from terrasynth.core.landcover import WORLDCOVER, ClassTable
from terrasynth.core.levels import Level


class Source(ABC):
    """Reads imagery, land cover and a validity mask for any grid at any level.

    The date range, collections and other parameters are the source's own settings, given when it
    is built; :meth:`describe` reports them for the corpus' provenance.
    """

    name: str
    """Short name used on the command line: ``earthengine``, ``local`` or ``synthetic``."""

    classes: ClassTable = WORLDCOVER
    """The legend of the ``landcover`` codes :meth:`read` returns."""

    max_concurrency: int | None = None
    """At most this many :meth:`read` calls may run at once across a whole cluster (a service's
    quota); ``None`` when reads are bounded by the machines only."""

    @abstractmethod
    def bands(self, level: Level) -> list[str]:
        """Band names of the image at ``level``, in the order :meth:`read` returns them."""

    @abstractmethod
    def read(self, grid: GridSpec, level: Level) -> xr.Dataset:
        """The data on exactly ``grid`` (a tile of one level's grid).

        Returns a Dataset with coordinates ``band``, ``y``, ``x`` (pixel centres of ``grid``, CRS
        units) and the corpus variables:

        - ``image (band, y, x)`` uint16 surface reflectance x 1e4 (see ``core.corpus``),
        - ``landcover (y, x)`` uint8 codes of :attr:`classes`, 0 = no data,
        - ``valid (y, x)`` bool, False where the image is not observed (clouds, gaps, outside).

        Raises :class:`~terrasynth.core.errors.SourceError` for a permanent failure, naming the
        tile and the cause. A tile the source has no data for (no image there in the date range)
        is returned all not valid, with the reason in ``attrs["no_data"]``.
        """

    @abstractmethod
    def describe(self) -> dict:
        """The source's name and parameters, JSON-ready, for provenance. Never credentials."""

    def setup(self) -> None:  # noqa: B027 (an optional hook: most sources need no preparation)
        """Prepare this process for :meth:`read` (authenticate, open clients); idempotent.

        Called once on the client before any work (so bad credentials fail early) and once on
        every worker. The default does nothing.
        """

    def check_area(self, aoi: AreaOfInterest) -> None:  # noqa: B027 (an optional hook)
        """Raise :class:`~terrasynth.core.errors.SourceError` for an area the source holds no data
        for (a local raster elsewhere, say); called before any work. The default accepts every area."""

    def check_coverage(self, aoi: AreaOfInterest, levels: Sequence[Level]) -> list[str]:
        """Ask the service whether it holds data for every level over each region of ``aoi``: raise
        :class:`~terrasynth.core.errors.SourceError` when a level would hold none at all, return a
        warning per region that would be left without. Called after :meth:`setup`, before any
        work. The default (local data, checked by :meth:`check_area`) has nothing to add."""
        return []

    def image_attrs(self, level: Level) -> dict:
        """The attributes of the ``image`` at ``level``: what its values are, with their units."""
        return dict(REFLECTANCE_ATTRS)

    def requests(self, grid: GridSpec, level: Level) -> int:
        """How many service requests a :meth:`read` of ``grid`` costs (0 for local data); it may
        depend on the grid's shape only, so that a plan counts it once per tile shape."""
        return 0

    def request_rate(self) -> float | None:
        """Requests per second the service sustains at its quota, for time estimates; ``None`` if local."""
        return None
