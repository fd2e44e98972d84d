"""A ChangeStar-style bitemporal change detector (Zheng et al.; the zero-shot detector of Changen2).

Both dates go through one shared timm encoder and a top-down feature pyramid to a
``decoder_channels``-wide feature map at 1/4 of the input size. The change head sees the two dates
concatenated in both orders and sums the two answers, so swapping the dates gives the same change
logits. Optional semantic heads classify each date (SECOND-style semantic change).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import torch
import torch.nn.functional as F
from diffusers.configuration_utils import ConfigMixin, register_to_config
from torch import nn

from terrasynth.core.errors import ConfigError, WeightsError
from terrasynth.models.pretrained import LocalModelMixin

if TYPE_CHECKING:
    from timm.models import FeatureInfo

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class ChangeDetector(LocalModelMixin, ConfigMixin):  # type: ignore[misc]  # diffusers types ConfigMixin.config_name None
    """Bitemporal change detector: ``images (B, 2, C, H, W)`` in [0, 1] -> logits at full size;
    saved by ``save_pretrained`` as ``config.json`` + safetensors.

    ``forward`` returns ``{"change": (B, 1, H, W)}`` change logits, plus ``"semantic"``
    ``(B, 2, K, H, W)`` class logits per date when ``semantic_classes`` is K > 0. Any H, W
    works (inputs are padded to the encoder's stride and the outputs cropped back).

    Args:
        encoder: a timm model name (``"resnet18"``, ``"convnext_atto"``, ...); built without weights.
        in_channels: bands per date.
        decoder_channels: width ``d`` of the shared feature map (ChangeStar "1 x d").
        head_layers: 3x3 conv layers in the change head (ChangeStar "1 x d" has one).
        semantic_classes: classes of each date's semantic head, 0 for binary change only
            (6 for SECOND: head class ``k`` is SECOND value ``k + 1``).
        mean, std: per-band normalisation applied to inputs in [0, 1] (default ImageNet's, for RGB).
        encoder_weights: a local timm state dict (``.safetensors``, or ``.pth``/``.pt``/``.bin``
            read with ``weights_only``) for the encoder; random init when None. Never downloads,
            and not part of the config (the saved weights hold the encoder).
    """

    ignore_for_config = ("encoder_weights",)  # type: ignore[assignment]  # diffusers infers list[Any] from its [] default

    @register_to_config
    def __init__(
        self,
        encoder: str = "resnet18",
        in_channels: int = 3,
        decoder_channels: int = 256,
        head_layers: int = 1,
        semantic_classes: int = 0,
        mean: tuple[float, ...] = IMAGENET_MEAN,
        std: tuple[float, ...] = IMAGENET_STD,
        encoder_weights: str | Path | None = None,
    ):
        super().__init__()
        if len(mean) != in_channels or len(std) != in_channels:
            raise ConfigError(
                f"detector mean/std have {len(mean)}/{len(std)} values for {in_channels} bands: give one per band"
            )
        _check_encoder(encoder)
        if decoder_channels < 1 or head_layers < 1 or semantic_classes < 0:
            raise ConfigError(
                "detector needs decoder_channels >= 1, head_layers >= 1 and semantic_classes >= 0, got "
                f"{decoder_channels}, {head_layers}, {semantic_classes}"
            )
        self.backbone = _timm_encoder(encoder, in_channels, encoder_weights)
        feature_info = cast("FeatureInfo", self.backbone.feature_info)  # timm's features_only models have one
        reductions = feature_info.reduction()
        channels = feature_info.channels()
        self._levels = [i for i, r in enumerate(reductions) if r >= 4]
        if not self._levels:
            raise ConfigError(f"encoder {encoder!r} has no feature map at stride 4 or coarser")
        self.output_stride = reductions[self._levels[0]]
        self.input_multiple = max(reductions)
        d = decoder_channels
        self.neck = FeaturePyramid([channels[i] for i in self._levels], d)
        layers: list[nn.Module] = []
        for index in range(head_layers):
            layers += [
                nn.Conv2d(2 * d if index == 0 else d, d, 3, padding=1, bias=False),
                nn.BatchNorm2d(d),
                nn.ReLU(inplace=True),
            ]
        self.change_head = nn.Sequential(*layers, nn.Conv2d(d, 1, 1))
        self.semantic_head = nn.Conv2d(d, semantic_classes, 1) if semantic_classes else None
        self.register_buffer("input_mean", torch.tensor(mean).view(1, -1, 1, 1), persistent=False)
        self.register_buffer("input_std", torch.tensor(std).view(1, -1, 1, 1), persistent=False)

    def forward(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        if images.ndim != 5 or images.shape[1] != 2 or images.shape[2] != self.config["in_channels"]:
            raise ValueError(
                f"expected images (B, 2, {self.config['in_channels']}, H, W), got {tuple(images.shape)}"
            )
        batch, _, _, height, width = images.shape
        x = (images.flatten(0, 1) - self.input_mean) / self.input_std
        pad_h, pad_w = (-height) % self.input_multiple, (-width) % self.input_multiple
        if pad_h or pad_w:
            x = F.pad(x, (0, pad_w, 0, pad_h), mode="replicate")
        features = self.backbone(x)
        shared = self.neck([features[i] for i in self._levels])  # stride 4
        t1, t2 = shared.unflatten(0, (batch, 2)).unbind(1)
        change = self.change_head(torch.cat([t1, t2], 1)) + self.change_head(torch.cat([t2, t1], 1))
        outputs = {"change": self._to_input_size(change, height, width)}
        if self.semantic_head is not None:
            semantic = self._to_input_size(self.semantic_head(shared), height, width)
            outputs["semantic"] = semantic.unflatten(0, (batch, 2))
        return outputs

    def _to_input_size(self, logits: torch.Tensor, height: int, width: int) -> torch.Tensor:
        size = (logits.shape[-2] * self.output_stride, logits.shape[-1] * self.output_stride)
        return F.interpolate(logits, size=size, mode="bilinear", align_corners=False)[..., :height, :width]


class FeaturePyramid(nn.Module):
    """Top-down feature pyramid (Lin et al., 2017) giving only its finest level.

    Written here because the libraries this package may use (torch, timm, ...) have none;
    torchvision's FPN is outside them.
    """

    def __init__(self, in_channels: list[int], out_channels: int):
        super().__init__()
        self.lateral = nn.ModuleList(nn.Conv2d(c, out_channels, 1) for c in in_channels)
        self.smooth = nn.Conv2d(out_channels, out_channels, 3, padding=1)

    def forward(self, features: list[torch.Tensor]) -> torch.Tensor:
        """``features`` fine to coarse -> ``(N, out_channels, h, w)`` at the finest one's size."""
        x = self.lateral[-1](features[-1])
        for lateral, feature in zip(reversed(self.lateral[:-1]), reversed(features[:-1]), strict=True):
            x = lateral(feature) + F.interpolate(x, size=feature.shape[-2:], mode="nearest")
        return self.smooth(x)


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """Tensors of a local weights file: safetensors, or a torch file read with ``weights_only``."""
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"weights file {path} does not exist")
    if path.suffix == ".safetensors":
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        try:
            return load_file(path)
        except SafetensorError as error:
            raise WeightsError(f"{path} is damaged or truncated ({error})") from None
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:
        raise WeightsError(f"{path} is not a readable torch state dict ({type(error).__name__})") from None
    for key in ("state_dict", "model"):
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
    return state


def _check_encoder(name: str) -> None:
    """Refuse a name that is not a timm model, suggesting the closest ones."""
    import difflib

    import timm

    if not timm.is_model(name):
        close = difflib.get_close_matches(name, timm.list_models(), n=3, cutoff=0.6)
        hint = f"did you mean {', '.join(close)}?" if close else "e.g. resnet18, resnet50, convnext_atto"
        raise ConfigError(f"unknown encoder {name!r}: give a timm model name ({hint})")


def _timm_encoder(name: str, in_channels: int, weights: str | Path | None) -> nn.Module:
    import timm

    options: dict[str, Any] = {"features_only": True, "in_chans": in_channels}
    if weights is None:
        try:
            return timm.create_model(name, pretrained=False, **options)
        except RuntimeError as error:  # the model gives no feature maps (features_only)
            raise ConfigError(
                f"encoder {name!r} gives no feature maps ({str(error).splitlines()[0]}): "
                "choose a convolutional one, e.g. resnet18 or convnext_atto"
            ) from None
    state = read_state_dict(weights)
    # timm's features_only loader ignores absent keys, so check the file against the full model first.
    reference = timm.create_model(name, pretrained=False)
    pretrained_cfg = cast(dict[str, Any], reference.pretrained_cfg)  # every timm model has this dict
    classifier = str(pretrained_cfg.get("classifier") or "")
    missing = [k for k in reference.state_dict() if k not in state and not k.startswith(classifier + ".")]
    if missing:
        raise WeightsError(
            f"{weights} does not hold a {name} encoder: {len(missing)} weights missing (first: {missing[0]})"
        )
    # The state dict is handed over in memory (source pinned to it): timm maps names for the
    # feature wrapper and adapts the first conv to in_chans; nothing is looked up online.
    overlay = {"state_dict": state, "source": "", "file": None, "url": None, "hf_hub_id": None}
    try:
        return timm.create_model(name, pretrained=True, pretrained_cfg_overlay=overlay, **options)
    except RuntimeError as error:
        raise WeightsError(f"{weights} does not fit {name}: {str(error).splitlines()[0]}") from None
