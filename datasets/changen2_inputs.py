"""What the datasets need of a Changen2 model and its mask encoding, as structural types, so that
``terrasynth.datasets`` imports no model (:class:`terrasynth.models.changen2.Changen2Model` and
:class:`~terrasynth.models.changen2.MaskEncoding` satisfy them)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import torch


class MaskKind(Protocol):
    """How a model's masks are drawn: ``kind`` (landcover, buildings or pseudo), its class codes and
    the pseudo-masks of unlabelled images."""

    @property
    def kind(self) -> str: ...

    @property
    def classes(self) -> Sequence[int]: ...

    def pseudo_mask(self, image: torch.Tensor, *, generator: torch.Generator | None = None) -> torch.Tensor:
        """(H, W) int64 pseudo-classes of a (C, H, W) image."""
        ...


class ImageValues(Protocol):
    """A model's image values: its bands, the three shown as RGB and ``pixel_values``
    (``reflectance`` or ``8bit``)."""

    @property
    def channels(self) -> int: ...

    @property
    def rgb_bands(self) -> Sequence[int]: ...

    @property
    def pixel_values(self) -> str: ...


class MaskedImageModel(ImageValues, Protocol):
    """A model of image values that draws from masks of one kind."""

    @property
    def encoding(self) -> MaskKind: ...
