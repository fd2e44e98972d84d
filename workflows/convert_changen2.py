"""``terrasynth convert changen2``: a released Changen2 RS-DiT checkpoint (torchange's network, e.g.
``Changen2_RSDiT-B-2-xView2-256``) and the autoencoder of its latent space as a terrasynth model
folder that ``terrasynth synthesize`` runs.

The released weights are read safely (safetensors, or a torch pickle with ``weights_only=True`` and
``argparse.Namespace`` allowed), the EMA copy when a file holds both raw and EMA weights. The model
folder records what the weights do not say: DiT's objective (linear betas 1e-4 to 0.02 over 1000
steps, noise prediction with a learned variance), 8-bit RGB values mapped to [-1, 1] as they are
(no reflectance display mapping), the masks of the data set the weights were trained on
(xView2 buildings, or OpenEarthMap's eight classes, one-hot or by index as the weights' mask
embedding takes them), the 256-pixel training tile and the images' ground sampling distance.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import get_args

from terrasynth.core.choices import ReleasedMask
from terrasynth.core.errors import ConfigError
from terrasynth.core.outputs import atomic_path, check_output

RELEASED_MASKS = get_args(ReleasedMask)
RELEASED_GSD = {"xview2": 0.5, "oem": 0.5}
"""Metres per pixel assumed for the images of each data set (xView2 0.3-0.8 m, OpenEarthMap
0.25-0.5 m); ``--gsd`` sets another. Change events are sized in square metres with it."""
RELEASED_TILE = 256
"""The training tile of the released weights (latent 32 x 32)."""
LATENT_FACTOR = 8
"""Image pixels per latent pixel of the released weights' autoencoder (SD's VAE)."""


@dataclass(frozen=True)
class Conversion:
    """What :func:`convert_changen2` wrote.

    Attributes:
        path: the model folder.
        weights: which copy of the weights was taken (``ema``, ``model``, ...; ``weights`` for a
            plain state dict), and the copies left out.
        architecture: the RS-DiT's shape, e.g. ``B/2`` (depth 12, width 768, patch 2).
        mask: the mask encoding (kind, channels, format).
        parameters: RS-DiT parameters.
    """

    path: Path
    weights: str
    architecture: str
    mask: str
    parameters: int


def convert_changen2(
    weights: str | Path,
    autoencoder: str | Path,
    masks: str,
    out: str | Path,
    *,
    gsd: float | None = None,
) -> Conversion:
    """Write the released RS-DiT ``weights`` with the ``autoencoder`` folder (a diffusers
    AutoencoderKL saved with safetensors: Stable Diffusion's VAE, 8 x down, 4 latent channels) as
    a :class:`~terrasynth.models.changen2.Changen2Model` folder ``out`` (which must not exist, or
    be empty; it appears only once complete).

    Args:
        weights: the released file (``.safetensors``, ``.pth``, ``.pt``, ``.bin``, ``.ckpt``).
        autoencoder: the autoencoder folder.
        masks: ``xview2`` (building masks) or ``oem`` (OpenEarthMap classes): the data set the
            weights were trained on.
        out: the model folder to write.
        gsd: metres per pixel of the images (default :data:`RELEASED_GSD` of the data set).
    """
    from terrasynth.models.changen2 import Changen2Model, MaskEncoding
    from terrasynth.models.changen2.rsdit import PRESETS
    from terrasynth.models.changen2.rsdit_weights import read_rsdit
    from terrasynth.models.diffusion import NoiseSchedule, ReflectanceScaling
    from terrasynth.trainers.changen2 import load_autoencoder

    if masks not in RELEASED_MASKS:
        raise ConfigError(f"released masks {masks!r} are unknown; use one of {', '.join(RELEASED_MASKS)}")
    if gsd is not None and not gsd > 0:
        raise ConfigError(f"--gsd must be a positive number of metres per pixel, got {gsd}")
    out = check_output(out, folder=True)
    rsdit, copy = read_rsdit(weights)
    config = rsdit.config
    if not config["learn_sigma"]:
        raise ConfigError(
            f"{weights} predicts no variance (its output has {rsdit.out_channels} channels): released Changen2 "
            "RS-DiTs learn it (twice the input channels)"
        )
    encoding = MaskEncoding.released(masks, config["mask_channels"])
    vae = load_autoencoder(autoencoder)
    factor = 2 ** (len(vae.config["block_out_channels"]) - 1)
    if (
        vae.config["latent_channels"] != config["in_channels"]
        or factor != LATENT_FACTOR
        or vae.config["in_channels"] != 3
    ):
        raise ConfigError(
            f"{autoencoder} maps {vae.config['in_channels']} bands to {vae.config['latent_channels']} channels at 1/{factor}, "
            f"but {weights} was trained on latents of {config['in_channels']} channels at 1/{LATENT_FACTOR} of RGB "
            "images: give Stable Diffusion's VAE (4 latent channels, 8 x down, scaling 0.18215)"
        )
    model = Changen2Model(
        rsdit,
        encoding,
        schedule=NoiseSchedule.dit(),
        scaling=ReflectanceScaling(0.0, 1.0),  # 8-bit values / 255 -> x / 127.5 - 1, as DiT's data
        autoencoder=vae,
        bands=("red", "green", "blue"),
        rgb_bands=(0, 1, 2),
        gsd=gsd or RELEASED_GSD[masks],
        tile_size=RELEASED_TILE,
        pixel_values="8bit",
    )
    with atomic_path(out) as partial:
        model.save_pretrained(partial)
    size = next((f"{n}/{config['patch_size']}" for n, p in PRESETS.items() if (p["depth"], p["hidden_size"], p.get("patch_size", 2)) == (config["depth"], config["hidden_size"], config["patch_size"])), f"depth {config['depth']}, width {config['hidden_size']}, patch {config['patch_size']}")  # fmt: skip
    mask = f"{encoding.kind}, {encoding.channels} channel{'s' * (encoding.channels > 1)} ({encoding.format})"
    return Conversion(Path(out), copy, size, mask, sum(p.numel() for p in rsdit.parameters()))
