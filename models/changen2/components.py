"""Connected components of a semantic mask: the "objects" that change events act on."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

EIGHT_CONNECTED = np.ones((3, 3), dtype=bool)
"""Pixels touching by an edge or a corner belong to one component."""

SMALL_AREA = 64
"""Components of this many pixels or fewer are never selected by a change event (Changen2)."""


@dataclass(frozen=True)
class Component:
    """One 8-connected region of a single class.

    Attributes:
        label: its class code.
        rows, cols: its pixels (row and column indices in the mask).
    """

    label: int
    rows: np.ndarray
    cols: np.ndarray

    @property
    def area(self) -> int:
        """Size in pixels."""
        return int(self.rows.size)


def find_components(
    mask: np.ndarray, classes: Iterable[int] | None = None, *, small_area: int = SMALL_AREA
) -> list[Component]:
    """The components of ``mask`` larger than ``small_area`` pixels, class by class in ascending order.

    Args:
        mask: (H, W) integer class codes.
        classes: the classes to look at (all classes present when ``None``).
        small_area: components of this many pixels or fewer are left out.
    """
    present = np.unique(mask)
    if classes is not None:
        present = present[np.isin(present, list(classes))]
    found = []
    for label in present.tolist():
        labelled, _ = ndimage.label(mask == label, structure=EIGHT_CONNECTED)
        for index, box in enumerate(ndimage.find_objects(labelled), start=1):
            rows, cols = np.nonzero(labelled[box] == index)
            if rows.size > small_area:
                found.append(Component(label, rows + box[0].start, cols + box[1].start))
    return found
