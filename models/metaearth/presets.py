"""Architecture presets of the MetaEarth denoiser, by size.

``tiny`` runs on a CPU (under 5M parameters), ``base`` is a single-GPU model, and ``paper`` has
about 600M parameters, the size of MetaEarth's denoiser. A preset fixes the architecture only;
the stage (resolutions, channels, land-cover input) is given separately.

Self-attention sits only where feature maps are 32 x 32 pixels or smaller for the 256-pixel
windows ``base`` and ``paper`` train on (ADM and latent diffusion stop it at 32 x 32 too): at 128 x
128 pixels one attention layer costs as much as all the convolutions of its level. ``paper``
reaches 32 and 16 pixels with five levels; the U-Net's middle block attends at the smallest.
"""

from __future__ import annotations

from terrasynth.core.errors import ConfigError
from terrasynth.models.metaearth.denoiser import MetaEarthDenoiser

PRESETS: dict[str, dict] = {
    "tiny": {
        "block_out_channels": (32, 64, 128),
        "layers_per_block": 1,
        "attention_levels": (False, False, True),
        "attention_head_dim": 8,
        "norm_num_groups": 8,
        "encoder_features": 32,
        "encoder_blocks": 1,
        "encoder_growth": 16,
    },
    "base": {
        "block_out_channels": (128, 256, 384, 512),
        "layers_per_block": 2,
        "attention_levels": (False, False, False, True),
        "attention_head_dim": 64,
        "norm_num_groups": 32,
        "encoder_features": 64,
        "encoder_blocks": 4,
        "encoder_growth": 32,
    },
    "paper": {
        "block_out_channels": (256, 512, 768, 768, 1024),
        "layers_per_block": 3,
        "attention_levels": (False, False, False, True, True),
        "attention_head_dim": 64,
        "norm_num_groups": 32,
        "encoder_features": 64,
        "encoder_blocks": 23,  # ESRGAN's RRDBNet depth
        "encoder_growth": 32,
    },
}


def build_denoiser(preset: str, **stage) -> MetaEarthDenoiser:
    """A new, randomly initialised denoiser of a preset size.

    Args:
        preset: ``"tiny"``, ``"base"`` or ``"paper"``.
        stage: the other :class:`MetaEarthDenoiser` arguments (``channels``, ``gsd``,
            ``condition_gsd``, ``landcover_codes``, ``window``, ``schedule``, ``scaling``); they may
            also override a preset's architecture.
    """
    if preset not in PRESETS:
        raise ConfigError(f"unknown preset {preset!r}: use one of {', '.join(PRESETS)}")
    return MetaEarthDenoiser(**{**PRESETS[preset], **stage})
