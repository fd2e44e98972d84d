"""The atmosphere of one acquisition: haze, clouds, their shadows, and the valid mask.

Each date has its own weather, hashed from the date: a haze strength and, when clouds are asked
for, a cloud cover. Clouds are a fractal field thresholded to cover about the asked fraction of the
land (the threshold is the matching quantile of the field at fixed probe points, so it does not
depend on the area rendered), with soft edges and a shadow displaced away from the sun. Pixels
under clouds or dense cloud shadow are not valid.
"""

from __future__ import annotations

import numpy as np

from terrasynth.ingest.synthetic.buildings import SHADOW_DIRECTION
from terrasynth.ingest.synthetic.hashing import stream, uniform
from terrasynth.ingest.synthetic.lattice import interpolate_fields
from terrasynth.ingest.synthetic.noise import fbm_on_axes
from terrasynth.ingest.synthetic.spectra import CLOUD, HAZE
from terrasynth.ingest.synthetic.timeline import Moment

CLOUD_CELL = 4000.0  # metres: size of the largest cloud systems
CLOUD_HEIGHT = 1500.0  # metres: sets how far cloud shadows fall from their clouds
CLOUD_EDGE = 0.12  # field units over which a cloud goes from clear to opaque
LATTICE = 16.0  # metres between the nodes of the cloud and haze fields
PROBES = np.arange(64) * 1500.0  # probe coordinates for the cloud threshold (metres)


def cloud_cover(seed: int, moment: Moment, clouds: bool | float) -> float:
    """The fraction of sky covered at ``moment``: ``clouds`` if it is a number, none if False, and
    if True the date's own weather (about half the dates clear, the rest up to 60 % covered)."""
    if clouds is False:
        return 0.0
    if clouds is True:
        draw = float(uniform(stream(seed, "cloud-cover"), moment.day))
        return max(0.0, (draw - 0.45) / 0.55) * 0.6
    return float(clouds)


def haze_strength(seed: int, moment: Moment) -> float:
    """The date's haze, 0 (clear) to 1 (thick)."""
    draw = float(uniform(stream(seed, "haze"), moment.day))
    return draw * draw * 0.35


def apply_atmosphere(
    seed: int,
    x: np.ndarray,
    y: np.ndarray,
    moment: Moment,
    reflectance: np.ndarray,
    *,
    clouds: bool | float,
    haze: bool,
) -> tuple[np.ndarray, np.ndarray]:
    """Haze, clouds and cloud shadows over surface ``reflectance`` (band, rows, columns) on the
    grid of ``x`` (columns) by ``y`` (rows), metres; returns top-of-atmosphere-like reflectance
    and the valid mask."""
    valid = np.ones(reflectance.shape[1:], bool)
    shift = _date_shift(seed, moment)
    if haze:
        strength = haze_strength(seed, moment)
        if strength > 0:
            patchy = interpolate_fields(
                lambda nx, ny: {"haze": fbm_on_axes(nx + shift, ny, 12000.0, 3, stream(seed, "haze-field"))},
                LATTICE,
                x,
                y,
            )["haze"]
            amount = strength * np.clip(0.6 + 0.6 * patchy, 0.0, 1.0)
            reflectance = reflectance * (1.0 - 0.3 * amount) + amount * np.array(HAZE)[:, None, None]
    cover = cloud_cover(seed, moment, clouds)
    if cover <= 0:
        return reflectance, valid
    threshold = _cloud_threshold(seed, moment, cover)
    offset = np.array(SHADOW_DIRECTION) * CLOUD_HEIGHT * 0.8

    def clouds_at(nx, ny):
        key = stream(seed, "clouds")
        return {
            "cloud": fbm_on_axes(nx + shift, ny, CLOUD_CELL, 7, key, gain=0.55),
            "shade": fbm_on_axes(nx - offset[0] + shift, ny - offset[1], CLOUD_CELL, 7, key, gain=0.55),
        }

    fields = interpolate_fields(clouds_at, LATTICE, x, y)
    opacity = _smooth(np.clip((fields["cloud"] - threshold) / CLOUD_EDGE, 0.0, 1.0))
    shade = _smooth(np.clip((fields["shade"] - threshold) / CLOUD_EDGE, 0.0, 1.0))
    reflectance = reflectance * (1.0 - 0.65 * shade)
    brightness = 0.75 + 0.25 * np.clip((fields["cloud"] - threshold) / (4 * CLOUD_EDGE), 0.0, 1.0)
    reflectance = reflectance * (1.0 - opacity) + (opacity * brightness) * np.array(CLOUD)[:, None, None]
    return reflectance, valid & (opacity < 0.02) & (shade < 0.1)


def _smooth(t: np.ndarray) -> np.ndarray:
    return t * t * (3.0 - 2.0 * t)


def _date_shift(seed: int, moment: Moment) -> float:
    """Each date's weather is the same field seen from a different place (metres)."""
    return float(np.floor(uniform(stream(seed, "weather-shift"), moment.day) * 1e6))


def _cloud_threshold(seed: int, moment: Moment, cover: float) -> float:
    if cover >= 1.0:
        return -np.inf
    shift = _date_shift(seed, moment)
    probes = fbm_on_axes(PROBES + shift, PROBES, CLOUD_CELL, 7, stream(seed, "clouds"), gain=0.55)
    ordered = np.sort(probes, axis=None)
    return float(ordered[min(len(ordered) - 1, int((1.0 - cover) * len(ordered)))])
