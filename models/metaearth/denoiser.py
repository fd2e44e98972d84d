"""The MetaEarth denoiser: a diffusers U-Net told the resolution, fed the encoded low-resolution image.

One stage of the cascade. Its input is x_t concatenated on the channel axis with

- the low-resolution condition encoded by an RRDBNet at its own resolution and resampled onto
  x_t's pixel centres (later stages), and/or
- a one-hot land-cover map (first stage, optional).

Resolution guidance: the output resolution (metres per pixel) is embedded like the timestep
(sinusoidal + MLP, diffusers' ``class_embed_type="timestep"``) and added to the time embedding;
the condition's resolution is embedded the same way and scales and shifts the condition
features (FiLM), so the model knows both ends of each ~4x step, even a non-integer one (60 -> 16 m).
One model trained across several level pairs (``pairs``) is MetaEarth's self-cascade: it runs
every stage of a cascade, told each stage's resolutions.

Residual prediction (``residual=True``, a departure from the paper for small, briefly trained
models, after SRDiff, Li et al. 2022): the network sees and predicts the image minus its condition
upsampled bicubically onto it, so a network that outputs zero predicts the bicubic upsampling
(with ``sample`` prediction) and all it learns is detail on top. The model still takes and returns
x_t and its prediction in image terms (``x_t - sqrt(a_t) * up`` is the residual's x_t, the noise
is the same, ``x0 = residual + up``, ``v = v_residual - sqrt(1 - a_t) * up``), so samplers and
canvases need not know.
"""

from __future__ import annotations

import itertools
from typing import Any

import torch
import torch.nn.functional as F
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.models import UNet2DModel  # diffusers' top-level names are torch-less dummies to mypy
from diffusers.models.embeddings import TimestepEmbedding, Timesteps

from terrasynth.core.errors import ConfigError
from terrasynth.models.diffusion import NoiseSchedule, ReflectanceScaling
from terrasynth.models.metaearth.rrdbnet import RRDBEncoder
from terrasynth.models.pretrained import LocalModelMixin

_NODATA = 0


class MetaEarthDenoiser(LocalModelMixin, ConfigMixin):  # type: ignore[misc]  # diffusers types ConfigMixin.config_name None
    """Predicts the noise, clean image or velocity of x_t (as its ``schedule`` says) for a stage of
    the cascade, or for every stage; saved as safetensors + ``config.json``.

    Args:
        channels: bands of the images (and of the low-resolution condition).
        gsd: metres per pixel of the images this stage was trained to generate (its finest pair's).
        condition_gsd: metres per pixel of the low-resolution condition it was trained with;
            ``None`` for a first stage, which generates from noise alone.
        pairs: every ``[gsd, condition_gsd]`` it was trained on, coarse to fine, for a model of
            several stages (the last one is ``gsd``, ``condition_gsd``); default: that one pair.
        residual: predict the image minus the bicubic upsampling of the condition (see the module
            docstring); conditioned models only.
        landcover_codes: land-cover class codes it takes as input (0, no data, is implied);
            ``None`` for no land-cover input.
        block_out_channels, layers_per_block, attention_levels, attention_head_dim,
            norm_num_groups: the U-Net (one entry of ``attention_levels`` per resolution level).
        encoder_features, encoder_blocks, encoder_growth: the RRDBNet condition encoder.
        window: tile edge in pixels it was trained on (the default generation window).
        schedule: :meth:`NoiseSchedule.to_dict` of its noise schedule (default MetaEarth's).
        scaling: :meth:`ReflectanceScaling.to_dict` of its model space (default reflectance 0..1).
    """

    @register_to_config
    def __init__(
        self,
        channels: int = 4,
        gsd: float = 4.0,
        condition_gsd: float | None = 16.0,
        pairs: list[list[Any]] | None = None,
        residual: bool = False,
        landcover_codes: list[int] | None = None,
        block_out_channels: tuple[int, ...] = (32, 64, 128),
        layers_per_block: int = 1,
        attention_levels: tuple[bool, ...] = (False, False, True),
        attention_head_dim: int = 8,
        norm_num_groups: int = 8,
        encoder_features: int = 32,
        encoder_blocks: int = 1,
        encoder_growth: int = 16,
        window: int = 256,
        schedule: dict | None = None,
        scaling: dict | None = None,
    ):
        super().__init__()
        if len(attention_levels) != len(block_out_channels):
            raise ConfigError(
                f"attention_levels has {len(attention_levels)} entries for {len(block_out_channels)} U-Net levels"
            )
        if residual and condition_gsd is None:
            raise ConfigError("a residual model predicts detail over its condition: a first stage has none")
        pairs = [[float(g), None if c is None else float(c)] for g, c in (pairs or [[gsd, condition_gsd]])]
        if pairs[-1] != [float(gsd), None if condition_gsd is None else float(condition_gsd)]:
            raise ConfigError(
                f"the last of pairs {pairs} must be gsd {gsd} and condition_gsd {condition_gsd}"
            )
        if any(fine >= coarse for (coarse, _), (fine, _) in itertools.pairwise(pairs)):
            raise ConfigError(f"pairs must go from coarse to fine resolution, got {pairs}")
        if len({c is None for _, c in pairs}) > 1:
            raise ConfigError(f"pairs {pairs} mix conditioned and unconditioned stages")
        # record the resolved defaults, so a saved model names its schedule and scaling explicitly
        noise_schedule = NoiseSchedule.from_dict(schedule or {})
        self.register_to_config(
            pairs=pairs,
            schedule=noise_schedule.to_dict(),
            scaling=ReflectanceScaling.from_dict(scaling or {}).to_dict(),
        )
        self.register_buffer("alphas_cumprod", noise_schedule.alphas_cumprod.clone(), persistent=False)
        in_channels = channels
        self.encoder = None
        if condition_gsd is not None:
            self.encoder = RRDBEncoder(channels, encoder_features, encoder_blocks, encoder_growth)
            self.condition_gsd_proj = Timesteps(
                block_out_channels[0], flip_sin_to_cos=True, downscale_freq_shift=0
            )
            self.condition_gsd_embedding = TimestepEmbedding(block_out_channels[0], 2 * encoder_features)
            in_channels += encoder_features
        lut = None
        if landcover_codes is not None:
            # class code -> one-hot channel; channel 0 is no data (and every code it does not know)
            codes = sorted({int(c) for c in landcover_codes} - {_NODATA})
            lut = torch.zeros(max(codes, default=0) + 1, dtype=torch.long)
            lut[torch.tensor(codes, dtype=torch.long)] = torch.arange(1, len(codes) + 1)
            in_channels += len(codes) + 1
        self.register_buffer("landcover_lut", lut, persistent=False)
        self.unet = UNet2DModel(
            in_channels=in_channels,
            out_channels=channels,
            block_out_channels=tuple(block_out_channels),
            layers_per_block=layers_per_block,
            down_block_types=tuple("AttnDownBlock2D" if a else "DownBlock2D" for a in attention_levels),
            up_block_types=tuple("AttnUpBlock2D" if a else "UpBlock2D" for a in reversed(attention_levels)),
            attention_head_dim=attention_head_dim,
            norm_num_groups=norm_num_groups,
            class_embed_type="timestep",
        )

    @property
    def schedule(self) -> NoiseSchedule:
        """The noise schedule this model was trained with."""
        return NoiseSchedule.from_dict(self.config["schedule"])

    @property
    def scaling(self) -> ReflectanceScaling:
        """Its reflectance <-> model-space mapping."""
        return ReflectanceScaling.from_dict(self.config["scaling"])

    @property
    def clip(self) -> float:
        """The sampler's bound on predicted clean images: its images lie in [-1, 1] (pixel space)."""
        return 1.0

    @property
    def pairs(self) -> list[tuple[float, float | None]]:
        """(gsd, condition_gsd) of every stage it runs, coarse to fine."""
        return [(g, c) for g, c in self.config["pairs"]]

    @property
    def conditioned(self) -> bool:
        """Whether it takes a low-resolution image (a later stage) or not (a first stage)."""
        return self.encoder is not None

    @property
    def uses_landcover(self) -> bool:
        return self.landcover_lut is not None

    @property
    def size_multiple(self) -> int:
        """Image sides must be multiples of this many pixels (the U-Net halves them per level)."""
        return 2 ** (len(self.config["block_out_channels"]) - 1)

    def forward(
        self,
        x_t: torch.Tensor,
        t: torch.Tensor,
        *,
        gsd: float | torch.Tensor,
        condition: torch.Tensor | None = None,
        condition_gsd: float | torch.Tensor | None = None,
        condition_box: torch.Tensor | None = None,
        landcover: torch.Tensor | None = None,
        condition_features: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """The prediction (noise, clean image or velocity, as :attr:`schedule` says).

        Args:
            x_t: noisy images in model space, (B, C, H, W); H and W multiples of :attr:`size_multiple`.
            t: integer timesteps, (B,).
            gsd: metres per pixel of x_t, a number or (B,).
            condition: the low-resolution images in model space, (B, C, h, w) (later stages).
            condition_gsd: their metres per pixel, a number or (B,).
            condition_box: where x_t lies on the condition, (B, 4) as (top, left, bottom, right) in
                condition pixels (fractions allowed); default: x_t covers the whole condition.
            landcover: class codes, (B, H, W); default (or for codes it does not know): no data.
            condition_features: :meth:`encode_condition` of these conditions, computed once for
                every step of a sampling run (default: computed here).
        """
        batch = x_t.shape[0]
        inputs = [x_t]
        if self.config["residual"] and condition is not None:
            upsampled = resample_onto(condition.to(x_t.dtype), condition_box, x_t.shape[-2:], mode="bicubic")
            a = self.alphas_cumprod.to(x_t.device)[t].view(-1, 1, 1, 1).to(x_t.dtype)
            inputs = [x_t - a.sqrt() * upsampled]
        if self.encoder is not None:
            if condition_features is None:
                if condition is None or condition_gsd is None:
                    raise ConfigError(
                        "this stage is conditioned on a low-resolution image: give condition and condition_gsd"
                    )
                condition_features = self.encode_condition(
                    condition.to(x_t.dtype), condition_gsd, condition_box, x_t.shape[-2:]
                )
            inputs.append(condition_features)
        elif condition is not None:
            raise ConfigError("this is a first stage: it takes no low-resolution condition")
        if self.landcover_lut is not None:
            inputs.append(self._one_hot(landcover, x_t))
        class_labels = _per_sample(gsd, batch, x_t)
        prediction = self.unet(torch.cat(inputs, dim=1), t, class_labels=class_labels).sample
        if not self.config["residual"]:
            return prediction
        kind = self.config["schedule"]["prediction_type"]
        if kind == "sample":
            return prediction + upsampled
        if kind == "v_prediction":
            return prediction - (1 - a).sqrt() * upsampled
        return prediction

    def encode_condition(
        self,
        condition: torch.Tensor,
        condition_gsd: float | torch.Tensor,
        condition_box: torch.Tensor | None,
        size: tuple[int, int] | torch.Size,
    ) -> torch.Tensor:
        """The condition's encoded features on an image of ``size`` (H, W) pixels, (B, F, H, W): the
        part of the input that depends on neither the noisy image nor the step, so that a sampler
        encodes it once per run (as a diffusers pipeline encodes its prompt once). The other
        arguments are :meth:`forward`'s."""
        if self.encoder is None:
            raise ConfigError("this is a first stage: it takes no low-resolution condition")
        features = self.encoder(condition)
        film = self.condition_gsd_embedding(
            self.condition_gsd_proj(_per_sample(condition_gsd, condition.shape[0], condition))
        )
        scale, shift = film.to(features.dtype)[..., None, None].chunk(2, dim=1)
        return resample_onto(features * (1 + scale) + shift, condition_box, size)

    def _one_hot(self, landcover: torch.Tensor | None, x_t: torch.Tensor) -> torch.Tensor:
        classes = len(set(self.config["landcover_codes"]) - {_NODATA}) + 1
        if landcover is None:
            index = torch.zeros((x_t.shape[0], *x_t.shape[-2:]), dtype=torch.long, device=x_t.device)
        else:
            codes = landcover.long()
            known = (codes >= 0) & (codes < len(self.landcover_lut))
            index = self.landcover_lut[codes.clamp(0, len(self.landcover_lut) - 1)] * known
        return F.one_hot(index, classes).permute(0, 3, 1, 2).to(x_t.dtype)


def resample_onto(
    features: torch.Tensor,
    box: torch.Tensor | None,
    size: tuple[int, int] | torch.Size,
    mode: str = "bilinear",
) -> torch.Tensor:
    """Bilinear (or ``mode``: ``"bicubic"``) samples of ``features`` at the pixel centres of an
    (H, W) grid laid over ``box``; beyond the outermost pixel centres the edge values are repeated.

    ``box`` is (B, 4) as (top, left, bottom, right) in ``features`` pixels; ``None`` means the whole
    map, which equals ``F.interpolate(..., mode=mode, align_corners=False)`` inside the edges.
    Sampling at absolute positions keeps neighbouring windows of a canvas consistent at any scale ratio.
    """
    batch, _, h, w = features.shape
    height, width = size
    if box is None:
        box = torch.tensor([0.0, 0.0, h, w], device=features.device).expand(batch, 4)
    box = box.to(device=features.device, dtype=torch.float32)
    top, left, bottom, right = box.unbind(dim=1)
    fy = (torch.arange(height, device=features.device) + 0.5) / height
    fx = (torch.arange(width, device=features.device) + 0.5) / width
    y = top[:, None] + fy[None] * (bottom - top)[:, None]  # (B, H) in feature pixels
    x = left[:, None] + fx[None] * (right - left)[:, None]  # (B, W)
    grid = torch.stack(
        (
            (2 * x / w - 1)[:, None, :].expand(batch, height, width),
            (2 * y / h - 1)[:, :, None].expand(batch, height, width),
        ),
        dim=-1,
    )
    return F.grid_sample(
        features, grid.to(features.dtype), mode=mode, padding_mode="border", align_corners=False
    )


def _per_sample(value: float | torch.Tensor, batch: int, like: torch.Tensor) -> torch.Tensor:
    """A number or (B,) tensor as a float32 (B,) tensor on ``like``'s device."""
    value = torch.as_tensor(value, dtype=torch.float32, device=like.device)
    return value.expand(batch) if value.dim() == 0 else value.reshape(batch)
