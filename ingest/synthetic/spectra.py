"""Sentinel-2-like surface reflectance of each material, and how strongly each is textured.

Bands are B2 (blue, 490 nm), B3 (green, 560 nm), B4 (red, 665 nm) and B8 (near infrared, 842 nm).
Values are surface reflectance (0-1), typical of Sentinel-2 L2A over each surface: vegetation is
dark in the visible and bright in the near infrared, water dark everywhere, soil and roofs bright
and flat.
"""

from __future__ import annotations

import numpy as np

from terrasynth.ingest.synthetic.materials import Material

BANDS = ("B2", "B3", "B4", "B8")

_M = Material
SPECTRA = {
    _M.WATER: (0.032, 0.030, 0.016, 0.008),
    _M.WETLAND: (0.035, 0.055, 0.045, 0.200),
    _M.TREE: (0.022, 0.040, 0.024, 0.270),
    _M.SHRUB: (0.040, 0.060, 0.062, 0.230),
    _M.GRASS: (0.030, 0.070, 0.042, 0.330),
    _M.CROP: (0.075, 0.100, 0.135, 0.230),  # bare-soil state; see CROP_GREEN and CROP_RIPE
    _M.SOIL: (0.090, 0.120, 0.160, 0.230),
    _M.ROCK: (0.130, 0.150, 0.170, 0.230),
    _M.ROAD: (0.075, 0.080, 0.085, 0.105),
    _M.PAVED: (0.095, 0.100, 0.105, 0.135),
    _M.ROOF_TILE: (0.070, 0.080, 0.150, 0.210),
    _M.ROOF_CONCRETE: (0.170, 0.180, 0.190, 0.220),
    _M.ROOF_DARK: (0.060, 0.065, 0.070, 0.090),
    _M.ROOF_METAL: (0.220, 0.235, 0.245, 0.265),
}
CROP_GREEN = (0.030, 0.075, 0.035, 0.420)
CROP_RIPE = (0.080, 0.115, 0.150, 0.300)
SHALLOW_WATER = (0.050, 0.060, 0.045, 0.020)
DORMANT = (0.050, 0.065, 0.075, 0.200)  # leafless trees and winter grass
CLOUD = (0.600, 0.600, 0.610, 0.640)
HAZE = (0.110, 0.085, 0.060, 0.030)  # light scattered into the view by haze (path radiance)
SHADOW = (0.35, 0.37, 0.38, 0.45)  # fraction of light left in a building's shadow

# Texture amplitudes (relative brightness) at fine (7 m), medium (30 m) and coarse (400 m) scales,
# and of the per-object tint.
TEXTURE = {
    _M.WATER: (0.0, 0.02, 0.10, 0.0),
    _M.WETLAND: (0.10, 0.12, 0.08, 0.05),
    _M.TREE: (0.45, 0.12, 0.08, 0.12),
    _M.SHRUB: (0.15, 0.12, 0.08, 0.05),
    _M.GRASS: (0.06, 0.10, 0.08, 0.08),
    _M.CROP: (0.03, 0.05, 0.05, 0.12),
    _M.SOIL: (0.06, 0.10, 0.10, 0.10),
    _M.ROCK: (0.12, 0.15, 0.10, 0.05),
    _M.ROAD: (0.02, 0.05, 0.05, 0.0),
    _M.PAVED: (0.04, 0.06, 0.05, 0.10),
    _M.ROOF_TILE: (0.02, 0.0, 0.0, 0.15),
    _M.ROOF_CONCRETE: (0.02, 0.0, 0.0, 0.15),
    _M.ROOF_DARK: (0.02, 0.0, 0.0, 0.20),
    _M.ROOF_METAL: (0.02, 0.0, 0.0, 0.10),
}
SEASONAL = (_M.TREE, _M.SHRUB, _M.GRASS, _M.WETLAND)  # fade towards DORMANT in winter


def _table(values: dict, width: int) -> np.ndarray:
    table = np.zeros((max(Material) + 1, width))
    for material, row in values.items():
        table[material] = row
    return table


SPECTRUM_TABLE = _table(SPECTRA, len(BANDS))
"""(material, band) reflectance."""
TEXTURE_TABLE = _table(TEXTURE, 4)
"""(material, scale) texture amplitude: fine, medium, coarse, tint."""
SEASONAL_TABLE = np.isin(np.arange(max(Material) + 1), list(SEASONAL))
"""(material,) whether it fades in winter."""
