"""Painting a scene: per-material spectra, season, texture, shadows, atmosphere and sensor noise.

The result is reflectance x 10000 (Sentinel-2 L2A digital numbers) per sample, as float, for the
caller to average into pixels. :func:`true_colour` turns stored images into an RGB view for people.
"""

from __future__ import annotations

import numpy as np

from terrasynth.core.display import to_display
from terrasynth.ingest.synthetic import spectra
from terrasynth.ingest.synthetic.atmosphere import apply_atmosphere
from terrasynth.ingest.synthetic.hashing import draws, hash_ints, stream
from terrasynth.ingest.synthetic.materials import Material
from terrasynth.ingest.synthetic.noise import fbm_on_axes
from terrasynth.ingest.synthetic.sampling import QUANTUM
from terrasynth.ingest.synthetic.scene import Scene
from terrasynth.ingest.synthetic.timeline import Moment

SENSOR_NOISE = 0.0025  # reflectance: standard deviation of the sensor's noise
SCALE = 10000.0  # stored value = reflectance x SCALE


def paint(
    seed: int,
    scene: Scene,
    x: np.ndarray,
    y: np.ndarray,
    moment: Moment,
    *,
    clouds: bool | float = False,
    haze: bool = True,
    noise: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Reflectance x 10000, (band, rows, columns) float, and the valid mask of ``scene`` on the grid
    of ``x`` (columns) by ``y`` (rows), metres."""
    material = scene.material
    reflectance = np.moveaxis(spectra.SPECTRUM_TABLE[material], -1, 0)
    crop = material == Material.CROP
    if crop.any():
        soil = reflectance[:, crop]
        green, ripe = scene.green[crop], scene.ripe[crop]
        bare = 1.0 - green - ripe
        reflectance[:, crop] = (
            soil * bare
            + np.array(spectra.CROP_GREEN)[:, None] * green
            + np.array(spectra.CROP_RIPE)[:, None] * ripe
        )
    dormancy = moment.cycle([(0.05, 1.0), (0.3, 0.1), (0.55, 0.0), (0.85, 0.5)]) * 0.6
    seasonal = spectra.SEASONAL_TABLE[material]
    reflectance = np.where(
        seasonal,
        reflectance * (1.0 - dormancy) + np.array(spectra.DORMANT)[:, None, None] * dormancy,
        reflectance,
    )
    water = material == Material.WATER
    shallow = np.where(water, np.clip(1.0 - scene.depth / 0.015, 0.0, 1.0), 0.0) * 0.7
    reflectance = reflectance * (1.0 - shallow) + np.array(spectra.SHALLOW_WATER)[:, None, None] * shallow

    amplitude = np.moveaxis(spectra.TEXTURE_TABLE[material], -1, 0)
    fine = fbm_on_axes(x, y, 7.0, 2, stream(seed, "texture-fine"))
    medium = fbm_on_axes(x, y, 30.0, 2, stream(seed, "texture-medium"))
    coarse = fbm_on_axes(x, y, 400.0, 2, stream(seed, "texture-coarse"))
    texture = (
        1.0 + amplitude[0] * fine + amplitude[1] * medium + amplitude[2] * coarse + amplitude[3] * scene.tint
    )
    light = np.where(water, 1.0, scene.relief) * texture
    reflectance = reflectance * light
    reflectance = np.where(scene.shadow, reflectance * np.array(spectra.SHADOW)[:, None, None], reflectance)

    reflectance, valid = apply_atmosphere(seed, x, y, moment, reflectance, clouds=clouds, haze=haze)
    if noise:
        reflectance = reflectance + _sensor_noise(seed, x, y, moment)
    return reflectance * SCALE, valid


def _sensor_noise(seed: int, x: np.ndarray, y: np.ndarray, moment: Moment) -> np.ndarray:
    """Per-sample noise of each band (triangular, standard deviation SENSOR_NOISE), hashed from
    the sample's position in 1/64 m and the date."""
    columns = np.rint(x / QUANTUM).astype(np.int64)[None, :]
    rows = np.rint(y / QUANTUM).astype(np.int64)[:, None]
    pieces = draws(hash_ints(stream(seed, "sensor-noise"), columns, rows, moment.day), 8)
    scale = SENSOR_NOISE / np.sqrt(2.0 / 12.0)
    return np.stack([(pieces[band] + pieces[band + 4] - 1.0) * scale for band in range(4)])


def true_colour(image: np.ndarray) -> np.ndarray:
    """An RGB view (rows, columns, 3) uint8 of an image (band, rows, columns) of reflectance x
    10000 in the order B2, B3, B4, ...: red B4, green B3, blue B2, through the display mapping of
    :mod:`terrasynth.core.display`."""
    return to_display(np.stack([image[2], image[1], image[0]], axis=-1).astype(np.float64) / SCALE)
