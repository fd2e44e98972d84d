"""The synthetic world: a seeded procedural Earth, rendered on any grid at any date.

The world is a function of position (metres in the grid's CRS) and the seed: the same seed and
grid give bit-identical output on any machine, a window of a grid equals the same crop of a larger
request, and a coarse render is the area average of the finest one (see
:mod:`~terrasynth.ingest.synthetic.sampling`). Position is read in whatever projected CRS the grid
has, so the same numbers in two UTM zones show the same landscape.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from terrasynth.core.grid import GridSpec
from terrasynth.ingest.synthetic.materials import is_roof, landcover_of
from terrasynth.ingest.synthetic.render import paint, true_colour
from terrasynth.ingest.synthetic.sampling import (
    DEFAULT_PITCH,
    Sampling,
    all_of_blocks,
    majority_of_blocks,
    mean_of_blocks,
    mode_of_blocks,
)
from terrasynth.ingest.synthetic.scene import build_scene
from terrasynth.ingest.synthetic.spectra import BANDS
from terrasynth.ingest.synthetic.timeline import DateLike, Moment


@dataclass(frozen=True)
class Rendering:
    """One date of the world on one grid.

    Attributes:
        image: (band, rows, columns) uint16 reflectance x 10000, bands :data:`BANDS` (None when
            only land cover was asked for).
        valid: (rows, columns) bool, False under clouds and dense cloud shadow.
        landcover: (rows, columns) uint8 ESA WorldCover codes.
        buildings: (rows, columns) bool, building footprints (at least half the pixel).
    """

    image: np.ndarray | None
    valid: np.ndarray
    landcover: np.ndarray
    buildings: np.ndarray

    def painted(self) -> np.ndarray:
        """:attr:`image`, refused when the render skipped painting (``image=False``)."""
        if self.image is None:
            raise ValueError("this rendering has no image: it was rendered with image=False")
        return self.image


class SyntheticWorld:
    """A procedural Earth: land cover, Sentinel-2-like imagery and change over time.

    Args:
        seed: selects the world; every seed is a different, equally plausible landscape.
        pitch: metres between samples of coarser renders (a pixel of ``r`` metres averages
            ``ceil(r / pitch)**2`` samples).
    """

    bands = BANDS

    def __init__(self, seed: int = 0, *, pitch: float = DEFAULT_PITCH):
        self.seed = int(seed)
        self.pitch = float(pitch)

    def __repr__(self) -> str:
        return f"SyntheticWorld(seed={self.seed}, pitch={self.pitch:g})"

    def render(
        self,
        grid: GridSpec,
        date: DateLike,
        *,
        image: bool = True,
        clouds: bool | float = False,
        haze: bool = True,
        noise: bool = True,
    ) -> Rendering:
        """Everything at one date on ``grid``; ``image=False`` skips painting (faster).

        Args:
            clouds: False (none), True (the date's own weather) or the covered fraction (0-1).
            haze: add the date's haze.
            noise: add sensor noise.
        """
        moment = Moment.of(date)
        sampling = Sampling.of(grid, self.pitch)
        k = sampling.factor
        landcover = np.zeros(grid.shape, np.uint8)
        buildings = np.zeros(grid.shape, bool)
        valid = np.ones(grid.shape, bool)
        pixels = np.zeros((len(BANDS), *grid.shape), np.uint16) if image else None
        for window in sampling.chunks():
            x, y = sampling.axes(window)
            scene = build_scene(self.seed, x, y, moment)
            rows = slice(window.row_off, window.row_off + window.height)
            columns = slice(window.col_off, window.col_off + window.width)
            landcover[rows, columns] = mode_of_blocks(landcover_of(scene.material), k)
            buildings[rows, columns] = majority_of_blocks(is_roof(scene.material), k)
            if pixels is not None:
                reflectance, observed = paint(
                    self.seed, scene, x, y, moment, clouds=clouds, haze=haze, noise=noise
                )
                pixels[:, rows, columns] = mean_of_blocks(reflectance, k)
                valid[rows, columns] = all_of_blocks(observed, k)
        return Rendering(pixels, valid, landcover, buildings)

    def landcover(self, grid: GridSpec, date: DateLike) -> np.ndarray:
        """(rows, columns) uint8 ESA WorldCover codes at ``date``."""
        return self.render(grid, date, image=False).landcover

    def buildings(self, grid: GridSpec, date: DateLike) -> np.ndarray:
        """(rows, columns) bool building footprints at ``date``."""
        return self.render(grid, date, image=False).buildings

    def image(self, grid: GridSpec, date: DateLike, **options) -> tuple[np.ndarray, np.ndarray]:
        """(band, rows, columns) uint16 reflectance x 10000 (B2, B3, B4, B8) and the (rows, columns)
        valid mask at ``date``; ``options`` as for :meth:`render`."""
        rendering = self.render(grid, date, **options)
        return rendering.painted(), rendering.valid

    def change(self, grid: GridSpec, date1: DateLike, date2: DateLike) -> np.ndarray:
        """(rows, columns) bool: where the land cover differs between the two dates."""
        return self.landcover(grid, date1) != self.landcover(grid, date2)

    def rgb(self, grid: GridSpec, date: DateLike, **options) -> np.ndarray:
        """(rows, columns, 3) uint8 true-colour view at ``date``; ``options`` as for :meth:`render`."""
        return true_colour(self.image(grid, date, **options)[0])
