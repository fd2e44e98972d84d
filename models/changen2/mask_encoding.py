"""The condition of a mask-conditioned RS-DiT: a semantic mask as one channel per class, plus the
class boundaries.

One channel per class (1 where the pixel has that class), so that the embedding of a class does not
depend on how its code compares with the others; code 0 (unknown, no data, or the background of a
building mask) and codes the encoding does not list are all zeros. The optional last channel holds
the class boundaries (1 on both sides of every border between classes): with it the model draws the
borders between touching objects, and a simulated date is drawn with its next-time contours
(:attr:`~terrasynth.models.changen2.sequence.ChangeSequence.boundaries`), so adjacent buildings keep
their outlines across dates.

Three kinds of masks, each with the change events that suit it:

- ``landcover``: ESA WorldCover codes (11 classes) and building footprints
  (:data:`~terrasynth.core.landcover.BUILDING`), so that buildings are instances apart from roads
  and paved ground;
- ``buildings``: 1 building footprint, 0 background;
- ``pseudo``: codes 1..k of an unsupervised segmentation
  (:func:`~terrasynth.models.changen2.pseudo_masks.pseudo_mask`) of unlabelled images.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F

from terrasynth.core.errors import ConfigError
from terrasynth.core.landcover import BUILDING, WORLDCOVER
from terrasynth.models.changen2.sequence import (
    BUILDING_EVENTS,
    WORLDCOVER_EVENTS,
    ChangeEvents,
    pseudo_mask_events,
)

MASK_KINDS = ("landcover", "buildings", "pseudo")


@dataclass(frozen=True)
class MaskEncoding:
    """How (B, H, W) class codes become the (B, channels, H, W) float condition of RS-DiT.

    Attributes:
        kind: ``landcover``, ``buildings`` or ``pseudo`` (see the module docstring).
        classes: the class codes, one channel each, in this order.
        boundary: append the class-boundary channel.
    """

    kind: str
    classes: tuple[int, ...]
    boundary: bool = True

    def __post_init__(self):
        if self.kind not in MASK_KINDS:
            raise ConfigError(f"mask kind {self.kind!r} is unknown; use one of {', '.join(MASK_KINDS)}")
        if not self.classes or 0 in self.classes or len(set(self.classes)) != len(self.classes):
            raise ConfigError(f"mask classes {self.classes} must be distinct codes other than 0")

    @classmethod
    def for_kind(cls, kind: str, *, boundary: bool = True, pseudo_classes: int = 8) -> MaskEncoding:
        """The encoding of a mask kind; ``pseudo`` masks have codes 1..``pseudo_classes``."""
        classes = {
            "landcover": (*WORLDCOVER.codes, BUILDING),
            "buildings": (1,),
            "pseudo": tuple(range(1, pseudo_classes + 1)),
        }.get(kind)
        if classes is None:
            raise ConfigError(f"mask kind {kind!r} is unknown; use one of {', '.join(MASK_KINDS)}")
        return cls(kind, classes, boundary)

    @property
    def channels(self) -> int:
        return len(self.classes) + self.boundary

    def change_events(self) -> ChangeEvents:
        """The change events that suit this kind of mask (Changen2's defaults)."""
        if self.kind == "landcover":
            return WORLDCOVER_EVENTS
        if self.kind == "buildings":
            return BUILDING_EVENTS
        return pseudo_mask_events(len(self.classes))

    def encode(self, codes: torch.Tensor, boundaries: torch.Tensor | None = None) -> torch.Tensor:
        """The condition of ``codes`` (B, H, W) integers.

        Args:
            codes: class codes.
            boundaries: (B, H, W) bool boundaries to draw (a simulated date's next-time contours);
                default: the class boundaries of ``codes`` (:func:`class_boundaries`).

        Returns:
            (B, channels, H, W) float32 on ``codes``' device.
        """
        if codes.ndim != 3:
            raise ConfigError(f"masks to encode must be (B, H, W) class codes, got {tuple(codes.shape)}")
        table = torch.tensor(self.classes, device=codes.device)
        channels = [(codes[:, None] == table[None, :, None, None]).float()]
        if self.boundary:
            boundaries = class_boundaries(codes) if boundaries is None else boundaries
            channels.append(boundaries[:, None].float())
        return torch.cat(channels, dim=1)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, settings: dict) -> MaskEncoding:
        return cls(settings["kind"], tuple(settings["classes"]), settings["boundary"])


def class_boundaries(codes: torch.Tensor) -> torch.Tensor:
    """(B, H, W) bool: pixels with a 4-neighbour of another class, the image edge repeating its
    pixels (the same as :func:`terrasynth.models.changen2.contour.class_boundaries`, on tensors)."""
    padded = F.pad(codes[:, None].float(), (1, 1, 1, 1), mode="replicate")[:, 0]
    centre = padded[:, 1:-1, 1:-1]
    neighbours = (padded[:, :-2, 1:-1], padded[:, 2:, 1:-1], padded[:, 1:-1, :-2], padded[:, 1:-1, 2:])
    return torch.stack([n != centre for n in neighbours]).any(dim=0)
