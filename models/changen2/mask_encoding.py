"""The condition of a mask-conditioned RS-DiT: a semantic mask as one channel per class, plus the
class boundaries.

One channel per class (1 where the pixel has that class), so that the embedding of a class does not
depend on how its code compares with the others; code 0 (unknown, no data, or the background of a
building mask) and codes the encoding does not list are all zeros. The optional last channel holds
the class boundaries (1 on both sides of every border between classes): with it the model draws the
borders between touching objects, and a simulated date is drawn with its next-time contours
(:attr:`~terrasynth.models.changen2.sequence.ChangeSequence.boundaries`), so adjacent buildings keep
their outlines across dates.

Released Changen2 checkpoints take their masks as they were trained (:meth:`MaskEncoding.released`):
a building mask as one 0/1 channel (xView2), OpenEarthMap's eight classes one channel each or as
one channel of class indices (``format="index"``), with no boundary channel.

Four kinds of masks, each with the change events that suit it:

- ``landcover``: ESA WorldCover codes (11 classes) and building footprints
  (:data:`~terrasynth.core.landcover.BUILDING`), so that buildings are instances apart from roads
  and paved ground;
- ``buildings``: 1 building footprint, 0 background;
- ``pseudo``: codes 1..k of an unsupervised segmentation
  (:func:`~terrasynth.models.changen2.pseudo_masks.pseudo_mask`) of unlabelled images;
- ``openearthmap``: OpenEarthMap's codes, 1 bareland, 2 rangeland, 3 developed space, 4 road,
  5 tree, 6 water, 7 agriculture land, 8 building (0 unknown).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F

from terrasynth.core.errors import ConfigError
from terrasynth.core.landcover import BUILDING, WORLDCOVER
from terrasynth.models.changen2.sequence import (
    BUILDING_EVENTS,
    OPENEARTHMAP_EVENTS,
    WORLDCOVER_EVENTS,
    ChangeEvents,
    pseudo_mask_events,
)

MASK_KINDS = ("landcover", "buildings", "pseudo", "openearthmap")
MASK_FORMATS = ("one-hot", "index")
OPENEARTHMAP_CLASSES = tuple(range(1, 9))


@dataclass(frozen=True)
class MaskEncoding:
    """How (B, H, W) class codes become the (B, channels, H, W) float condition of RS-DiT.

    Attributes:
        kind: ``landcover``, ``buildings``, ``pseudo`` or ``openearthmap`` (see the module docstring).
        classes: the class codes, one channel each, in this order.
        boundary: append the class-boundary channel.
        format: ``one-hot`` (a channel per class) or ``index`` (one channel holding the class code
            as a number, codes not in ``classes`` as 0).
    """

    kind: str
    classes: tuple[int, ...]
    boundary: bool = True
    format: str = "one-hot"

    def __post_init__(self):
        if self.kind not in MASK_KINDS:
            raise ConfigError(f"mask kind {self.kind!r} is unknown; use one of {', '.join(MASK_KINDS)}")
        if not self.classes or 0 in self.classes or len(set(self.classes)) != len(self.classes):
            raise ConfigError(f"mask classes {self.classes} must be distinct codes other than 0")
        if self.format not in MASK_FORMATS:
            raise ConfigError(f"mask format {self.format!r} is unknown; use one of {', '.join(MASK_FORMATS)}")

    @classmethod
    def released(cls, masks: str, channels: int) -> MaskEncoding:
        """The encoding of a released Changen2 checkpoint whose mask embedding takes ``channels``:
        ``xview2`` building masks (one 0/1 channel) or ``oem`` OpenEarthMap classes (eight one-hot
        channels, or one of class indices)."""
        if masks == "xview2" and channels == 1:
            return cls("buildings", (1,), boundary=False)
        if masks == "oem" and channels in (1, len(OPENEARTHMAP_CLASSES)):
            return cls("openearthmap", OPENEARTHMAP_CLASSES, False, "index" if channels == 1 else "one-hot")
        expected = {"xview2": "1", "oem": f"1 or {len(OPENEARTHMAP_CLASSES)}"}.get(masks)
        if expected is None:
            raise ConfigError(f"released mask kind {masks!r} is unknown; use xview2 or oem")
        raise ConfigError(
            f"the weights' mask embedding takes {channels} channels, but {masks} masks give {expected}: "
            "check --masks against the checkpoint's name"
        )

    @classmethod
    def for_kind(cls, kind: str, *, boundary: bool = True, pseudo_classes: int = 8) -> MaskEncoding:
        """The encoding of a mask kind; ``pseudo`` masks have codes 1..``pseudo_classes``."""
        classes = {
            "landcover": (*WORLDCOVER.codes, BUILDING),
            "buildings": (1,),
            "pseudo": tuple(range(1, pseudo_classes + 1)),
            "openearthmap": OPENEARTHMAP_CLASSES,
        }.get(kind)
        if classes is None:
            raise ConfigError(f"mask kind {kind!r} is unknown; use one of {', '.join(MASK_KINDS)}")
        return cls(kind, classes, boundary)

    @property
    def channels(self) -> int:
        return (1 if self.format == "index" else len(self.classes)) + self.boundary

    def pseudo_mask(self, image: torch.Tensor, *, generator: torch.Generator | None = None) -> torch.Tensor:
        """(H, W) int64 pseudo-classes of a (C, H, W) unlabelled image, one of each of :attr:`classes`
        (:func:`~terrasynth.models.changen2.pseudo_masks.pseudo_mask`, k-means seeded by ``generator``)."""
        from terrasynth.models.changen2.pseudo_masks import pseudo_mask

        return pseudo_mask(image, len(self.classes), generator=generator)

    def change_events(self) -> ChangeEvents:
        """The change events that suit this kind of mask (Changen2's defaults)."""
        if self.kind == "landcover":
            return WORLDCOVER_EVENTS
        if self.kind == "buildings":
            return BUILDING_EVENTS
        if self.kind == "openearthmap":
            return OPENEARTHMAP_EVENTS
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
        one_hot = (codes[:, None] == table[None, :, None, None]).float()
        if self.format == "index":
            channels = [(one_hot * table[None, :, None, None]).sum(dim=1, keepdim=True)]
        else:
            channels = [one_hot]
        if self.boundary:
            boundaries = class_boundaries(codes) if boundaries is None else boundaries
            channels.append(boundaries[:, None].float())
        return torch.cat(channels, dim=1)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, settings: dict) -> MaskEncoding:
        fmt = settings.get("format", "one-hot")
        return cls(settings["kind"], tuple(settings["classes"]), settings["boundary"], fmt)


def class_boundaries(codes: torch.Tensor) -> torch.Tensor:
    """(B, H, W) bool: pixels with a 4-neighbour of another class, the image edge repeating its
    pixels (the same as :func:`terrasynth.models.changen2.contour.class_boundaries`, on tensors)."""
    padded = F.pad(codes[:, None].float(), (1, 1, 1, 1), mode="replicate")[:, 0]
    centre = padded[:, 1:-1, 1:-1]
    neighbours = (padded[:, :-2, 1:-1], padded[:, 2:, 1:-1], padded[:, 1:-1, :-2], padded[:, 1:-1, 2:])
    return torch.stack([n != centre for n in neighbours]).any(dim=0)
