"""SECOND (Yang et al. 2021), the semantic change detection set, as laid out by its users.

``{train,test}/{im1,im2,label1,label2}/*.png``: 512 x 512 RGB pairs; each label map gives the land
cover at its date, coloured with :data:`~terrasynth.core.change_data.SECOND_PALETTE`, and only
where the scene changed (white = unchanged). Label maps are read as RGB (so paletted PNGs show
their colours); maps that hold the values 0-6 themselves (grey) are taken as they are.

Two class conventions:

- official (Bi-SRNet): ``semantic`` holds the values 0-6 at both dates (0 no change, 1 water,
  2 ground, 3 low vegetation, 4 tree, 5 building, 6 playground) and the metrics use a 7 x 7
  confusion matrix;
- from-to (torchange): one map of 37 classes, 0 unchanged and, for a change from value ``v1`` to
  ``v2`` (both 1-6), ``(v1 - 1) * 6 + (v2 - 1) + 1`` (:func:`from_to_classes`); metrics on these
  differ from the official ones, so name the convention with every result.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from terrasynth.core.change_data import SECOND, SECOND_CLASSES, second_from_rgb
from terrasynth.datasets.change_folder import ChangeFolder

CHANGED_CLASSES = len(SECOND_CLASSES) - 1
"""The six land-cover values a changed pixel can take (1-6)."""


def from_to_classes(semantic: torch.Tensor | np.ndarray) -> torch.Tensor:
    """The from-to class (0-36) of each pixel of ``semantic`` (2, ...) holding SECOND values 0-6.

    0 where either date is 0 (unchanged), else ``(v1 - 1) * 6 + (v2 - 1) + 1``.
    """
    semantic = torch.as_tensor(semantic, dtype=torch.int64)
    before, after = semantic[0], semantic[1]
    changed = (before > 0) & (after > 0)
    return torch.where(changed, (before - 1) * CHANGED_CLASSES + after, torch.zeros_like(before))


def from_to_values(classes: torch.Tensor | np.ndarray) -> torch.Tensor:
    """The SECOND values (2, ...) of from-to classes 0-36 (inverse of :func:`from_to_classes`)."""
    classes = torch.as_tensor(classes, dtype=torch.int64)
    changed = classes > 0
    before = torch.where(changed, (classes - 1) // CHANGED_CLASSES + 1, 0)
    after = torch.where(changed, (classes - 1) % CHANGED_CLASSES + 1, 0)
    return torch.stack([before, after])


class SECONDFolder(ChangeFolder):
    """SECOND pairs; samples hold ``image`` (2, 3, H, W), ``mask`` (H, W), ``semantic`` (2, H, W)
    int64 values 0-6 and ``name``; with ``from_to=True`` also ``from_to`` int64 (H, W), 0-36."""

    layout = SECOND
    rgb_labels = True

    def __init__(
        self,
        root: str | Path,
        split: str | None = "train",
        *,
        crop_size: int | None = None,
        from_to: bool = False,
        transforms: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
    ) -> None:
        """Index a split (arguments as for :class:`ChangeFolder`; ``from_to`` adds the 37-class map)."""
        self.from_to = from_to
        super().__init__(root, split, crop_size=crop_size, transforms=transforms)

    def _labels(self, labels: dict[str, np.ndarray], name: str) -> dict[str, np.ndarray]:
        values = [self._values(labels[folder], folder, name) for folder in self.layout.labels]
        semantic = np.stack(values).astype(np.int64)
        out = {"mask": np.any(semantic > 0, axis=0).astype(np.int64), "semantic": semantic}
        if self.from_to:
            out["from_to"] = from_to_classes(semantic).numpy()
        return out

    def _values(self, label: np.ndarray, folder: str, name: str) -> np.ndarray:
        """Values 0-6 from a label map read as RGB: grey maps of values 0-6 as they are, else colours."""
        if label.max(initial=0) < len(SECOND_CLASSES) and (label == label[..., :1]).all():
            return label[..., 0]
        return second_from_rgb(label, where=str(self.directory / folder / name))
