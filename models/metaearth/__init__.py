"""MetaEarth: resolution-guided self-cascading diffusion and unbounded, seamless generation.

- :class:`MetaEarthDenoiser` (one stage) and :func:`build_denoiser` with presets ``tiny``,
  ``base``, ``paper`` (:data:`PRESETS`); saved and loaded with diffusers' ``save_pretrained`` /
  ``from_pretrained`` (safetensors + ``config.json``).
- :class:`UnboundedGenerator`: a canvas of any size from one stage, streamed as
  :class:`CanvasBand` rows; noise modes ``shared``, ``independent``, ``field``, ``average``.
- :class:`Cascade`: stages from coarse to fine, starting from noise or from a real image.
- :class:`WindowGrid`, :class:`NoiseField`: the window layout and the coordinate-keyed noise.
"""

from terrasynth.models.metaearth.cascade import Cascade, StagePlan, numpy_store
from terrasynth.models.metaearth.denoiser import MetaEarthDenoiser, resample_onto
from terrasynth.models.metaearth.noise import NOISE_MODES, NoiseField, WindowNoise, keyed_normal
from terrasynth.models.metaearth.presets import PRESETS, build_denoiser
from terrasynth.models.metaearth.rrdbnet import RRDBEncoder
from terrasynth.models.metaearth.unbounded import CanvasBand, UnboundedGenerator
from terrasynth.models.metaearth.windows import WindowGrid

__all__ = [
    "NOISE_MODES",
    "PRESETS",
    "CanvasBand",
    "Cascade",
    "MetaEarthDenoiser",
    "NoiseField",
    "RRDBEncoder",
    "StagePlan",
    "UnboundedGenerator",
    "WindowGrid",
    "WindowNoise",
    "build_denoiser",
    "keyed_normal",
    "numpy_store",
    "resample_onto",
]
