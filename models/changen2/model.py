"""A mask-conditioned image diffusion model: RS-DiT with its mask encoding, noise schedule and
reflectance scaling, in pixel space or in the latent space of an autoencoder.

Saved by :meth:`Changen2Model.save_pretrained` as a folder laid out like a diffusers pipeline::

    model_index.json     the class of each component, and the mask encoding, schedule, scaling,
                         bands, training tile size, ...
    rsdit/               the RS-DiT (``RSDiT.save_pretrained``: config.json + safetensors)
    autoencoder/         a diffusers AutoencoderKL (safetensors), for latent models only

Our own models predict the noise only (``learn_sigma=False``) by default, and are sampled with
DDIM. Models with a learned variance (the released Changen2 weights, converted by
``terrasynth convert changen2``, or ours trained with the hybrid objective) record a
``learned_range`` schedule and are sampled ancestrally with their variance
(:class:`~terrasynth.models.diffusion.AncestralSampler`).

``pixel_values`` says what the image values are: ``reflectance`` (PNG pictures are read and written
through the display mapping of :mod:`terrasynth.core.display`) or ``8bit`` (8-bit RGB digital
numbers / 255, as the released models were trained on: PNG values are taken as they are).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import cast

import torch
from diffusers.configuration_utils import ConfigMixin
from diffusers.models import AutoencoderKL  # diffusers' top-level names are torch-less dummies to mypy
from diffusers.models.modeling_utils import ModelMixin
from torch import nn

from terrasynth.core.errors import ConfigError, WeightsError
from terrasynth.models.changen2.mask_encoding import MaskEncoding
from terrasynth.models.changen2.rsdit import RSDiT, build_rsdit, rsdit_config
from terrasynth.models.diffusion import NoiseSchedule, ReflectanceScaling
from terrasynth.models.pretrained import INDEX_NAME, check_folder, load_folder

PIXEL_VALUES = ("reflectance", "8bit")
COMPONENTS = {"rsdit": ("terrasynth.models.changen2", RSDiT), "autoencoder": ("diffusers", AutoencoderKL)}
"""Each component of the model: its subfolder, the library and the class the index names."""


class Changen2Model(nn.Module, ConfigMixin):
    """``model(x_t, t, mask=condition) -> eps``, a :class:`~terrasynth.models.diffusion.Denoiser`.

    ``x_t`` is in the model's space: images mapped to [-1, 1] by :attr:`scaling` (pixel models) or
    their autoencoder latents (see :meth:`to_latent`); ``mask`` is the (B, C, H, W) condition of
    :attr:`encoding` at image size.

    Its ``config`` is what ``model_index.json`` holds: each component as ``[library, class]``
    (``[null, null]`` when absent, as in diffusers) and the settings below, JSON-ready.

    Attributes:
        rsdit: the denoiser.
        encoding: how masks become conditions.
        schedule: the forward process it was trained with.
        scaling: reflectance <-> [-1, 1].
        autoencoder: the latent space (None in pixel space).
        bands: names of the image bands.
        rgb_bands: the bands shown as red, green, blue.
        gsd: metres per pixel of the training images (None when unknown).
        tile_size: side in pixels of the training images (the default size it draws).
        global_window: None (the default) lets the global attention blocks attend over the whole
            token grid at any image size, as the released RS-DiT does; a number of tokens makes
            them attend within windows of that side on larger grids, so that memory and time grow
            linearly with the pixels instead of quadratically (a choice for very large pixel-space
            images, at the cost of context: windows see nothing of each other).
        pixel_values: ``reflectance`` or ``8bit`` (see the module docstring).
    """

    config_name = INDEX_NAME  # type: ignore[assignment]  # diffusers types ConfigMixin.config_name None

    def __init__(
        self,
        rsdit: RSDiT,
        encoding: MaskEncoding,
        *,
        schedule: NoiseSchedule | None = None,
        scaling: ReflectanceScaling | None = None,
        autoencoder: AutoencoderKL | None = None,
        bands: tuple[str, ...] | None = None,
        rgb_bands: tuple[int, int, int] = (2, 1, 0),
        gsd: float | None = None,
        tile_size: int = 256,
        global_window: int | None = None,
        pixel_values: str = "reflectance",
    ):
        super().__init__()
        channels = autoencoder.config["latent_channels"] if autoencoder is not None else None
        if channels is not None and rsdit.config["in_channels"] != channels:
            raise ConfigError(
                f"RS-DiT takes {rsdit.config['in_channels']} channels but the autoencoder's latents have {channels}"
            )
        if rsdit.config["mask_channels"] != encoding.channels:
            raise ConfigError(
                f"RS-DiT takes {rsdit.config['mask_channels']} mask channels but the encoding gives {encoding.channels}"
            )
        self.rsdit, self.encoding, self.autoencoder = rsdit, encoding, autoencoder
        self.schedule = schedule or NoiseSchedule()
        self.scaling = scaling or ReflectanceScaling()
        self.channels = (
            autoencoder.config["in_channels"] if autoencoder is not None else rsdit.config["in_channels"]
        )
        self.bands = tuple(bands) if bands else tuple(f"band{i}" for i in range(self.channels))
        if len(self.bands) != self.channels:
            raise ConfigError(f"{len(self.bands)} band names for a model of {self.channels} channels")
        self.rgb_bands = tuple(b if b < self.channels else 0 for b in rgb_bands)
        self.gsd, self.tile_size = gsd, int(tile_size)
        if global_window is not None and global_window < 1:
            raise ConfigError(f"global_window must be None (global) or at least 1 token, got {global_window}")
        self.global_window = global_window
        if pixel_values not in PIXEL_VALUES:
            raise ConfigError(
                f"pixel values {pixel_values!r} are unknown; use one of {', '.join(PIXEL_VALUES)}"
            )
        self.pixel_values = pixel_values
        if self.schedule.learned_variance and not rsdit.config["learn_sigma"]:
            raise ConfigError(
                "a learned_range schedule needs an RS-DiT that predicts the variance (learn_sigma)"
            )
        if autoencoder is not None:
            autoencoder.requires_grad_(False).eval()
        self._register_settings()

    def _register_settings(self) -> None:
        """Record the components and the settings in :attr:`config`, JSON-ready (as saved)."""
        settings = {
            "encoding": self.encoding.to_dict(),
            "schedule": self.schedule.to_dict(),
            "scaling": self.scaling.to_dict(),
            "bands": self.bands,
            "rgb_bands": self.rgb_bands,
            "gsd": self.gsd,
            "tile_size": self.tile_size,
            "global_window": self.global_window,
            "pixel_values": self.pixel_values,
        }
        components = {"rsdit": self.rsdit, "autoencoder": self.autoencoder}
        self.register_to_config(
            **{
                name: _index_entry(name) if part is not None else [None, None]
                for name, part in components.items()
            },
            **json.loads(json.dumps(settings)),
        )

    @property
    def clip(self) -> float | None:
        """The sampler's bound on predicted clean images: 1 in pixel space (images lie in [-1, 1]),
        none for latents."""
        return None if self.autoencoder is not None else 1.0

    @property
    def latent_factor(self) -> int:
        """Image pixels per latent pixel (1 in pixel space)."""
        if self.autoencoder is None:
            return 1
        return 2 ** (len(self.autoencoder.config["block_out_channels"]) - 1)

    @property
    def size_multiple(self) -> int:
        """Image sides must be multiples of this many pixels."""
        return self.latent_factor * self.rsdit.config["patch_size"]

    def forward(
        self, x_t: torch.Tensor, t: torch.Tensor, *, mask: torch.Tensor, with_variance: bool = False
    ) -> torch.Tensor:
        """The predicted noise of ``x_t`` (B, latent channels, h, w) under the condition ``mask``;
        with ``with_variance``, followed by the variance channels (``learn_sigma`` models)."""
        out = self.rsdit(x_t, t, mask.to(x_t.dtype), global_window=self.global_window)
        return out if with_variance else out[:, : self.rsdit.config["in_channels"]]

    def check_size(self, height: int, width: int) -> None:
        """Raise :class:`ConfigError` unless the model can draw images of ``height`` x ``width`` pixels."""
        if height % self.size_multiple or width % self.size_multiple:
            raise ConfigError(
                f"image size {height} x {width} px must be a multiple of {self.size_multiple} px for this model"
            )

    def to_latent(self, image: torch.Tensor) -> torch.Tensor:
        """Reflectance (B, C, H, W) -> the diffusion space: [-1, 1], then the autoencoder's
        (deterministic) latent mean, shifted and scaled as its configuration says."""
        x = self.scaling.to_model(image)
        if self.autoencoder is None:
            return x
        config = self.autoencoder.config
        latent = self.autoencoder.encode(x.to(self.autoencoder.dtype)).latent_dist.mode()
        return ((latent - (config["shift_factor"] or 0.0)) * config["scaling_factor"]).to(image.dtype)

    def from_latent(self, latent: torch.Tensor) -> torch.Tensor:
        """The diffusion space -> reflectance (B, C, H, W) (inverse of :meth:`to_latent`)."""
        if self.autoencoder is not None:
            config = self.autoencoder.config
            latent = latent / config["scaling_factor"] + (config["shift_factor"] or 0.0)
            latent = self.autoencoder.decode(latent.to(self.autoencoder.dtype)).sample.float()
        return self.scaling.to_reflectance(latent)

    def latent_shape(self, height: int, width: int) -> tuple[int, int, int]:
        """(channels, h, w) of the diffusion variable of an image of ``height`` x ``width`` pixels."""
        self.check_size(height, width)
        f = self.latent_factor
        return self.rsdit.config["in_channels"], height // f, width // f

    def save_pretrained(self, folder: str | Path) -> Path:
        """Write the model to ``folder`` (see the module docstring); the index last, so that a
        folder without one is no model."""
        folder = Path(folder)
        self._register_settings()  # settings changed since (global_window, ...)
        self.rsdit.save_pretrained(folder / "rsdit")
        if self.autoencoder is not None:
            self.autoencoder.save_pretrained(folder / "autoencoder")
        self.save_config(folder)
        return folder

    @classmethod
    def from_pretrained(cls, folder: str | Path) -> Changen2Model:
        """A model saved by :meth:`save_pretrained`, in evaluation mode; anything else (a training
        run folder, an older layout, another model, damaged weights) is refused in one line."""
        folder = Path(folder)
        index = check_folder(folder, cls.__name__, INDEX_NAME)
        parts: dict[str, ModelMixin | None] = {}
        for name in COMPONENTS:
            entry = index.get(name, [None, None])
            if entry == [None, None] and name == "autoencoder":
                parts[name] = None
            elif entry == _index_entry(name):
                parts[name] = load_folder(COMPONENTS[name][1], folder / name)
            else:
                raise WeightsError(
                    f"{folder / INDEX_NAME} names {entry} as its {name}, where a Changen2 model has "
                    f"{_index_entry(name)}: give a folder written by Changen2Model.save_pretrained"
                )
        try:
            model = cls(
                cast(RSDiT, parts["rsdit"]),
                MaskEncoding.from_dict(index["encoding"]),
                schedule=NoiseSchedule.from_dict(index["schedule"]),
                scaling=ReflectanceScaling.from_dict(index["scaling"]),
                autoencoder=cast("AutoencoderKL | None", parts["autoencoder"]),
                bands=tuple(index["bands"]),
                rgb_bands=tuple(index["rgb_bands"]),
                gsd=index["gsd"],
                tile_size=index["tile_size"],
                global_window=index["global_window"],
                pixel_values=index["pixel_values"],
            )
        except (KeyError, TypeError, ValueError, ConfigError) as error:
            raise WeightsError(f"{folder / INDEX_NAME} does not describe a Changen2 model: {error}") from None
        return model.eval()


def _index_entry(name: str) -> list[str]:
    """``[library, class]`` of a component, as the index names it."""
    library, component = COMPONENTS[name]
    return [library, component.__name__]


def build_changen2(
    preset: str,
    encoding: MaskEncoding,
    channels: int,
    *,
    autoencoder: AutoencoderKL | None = None,
    **options,
) -> Changen2Model:
    """A freshly initialised model for images of ``channels`` bands: an RS-DiT of ``preset`` size
    (``tiny``, ``S``, ``B``, ``L``, ``XL``) predicting noise (and its variance when ``options``' schedule
    has a learned one), in pixel space or, with ``autoencoder``, in its latent space. ``options`` go to
    :class:`Changen2Model`."""
    if autoencoder is not None and autoencoder.config["in_channels"] != channels:
        raise ConfigError(
            f"the autoencoder takes {autoencoder.config['in_channels']} bands but the images have {channels}"
        )
    in_channels = channels if autoencoder is None else autoencoder.config["latent_channels"]
    factor = 1 if autoencoder is None else 2 ** (len(autoencoder.config["block_out_channels"]) - 1)
    # the mask embedded at the token grid (at most 1/8, the released model's latent grid)
    stride = min(8, factor * rsdit_config(preset)["patch_size"])
    rsdit = build_rsdit(
        preset,
        in_channels=in_channels,
        mask_channels=encoding.channels,
        learn_sigma=schedule.learned_variance if (schedule := options.get("schedule")) else False,
        mask_stride=stride,
    )
    return Changen2Model(rsdit, encoding, autoencoder=autoencoder, **options)
