"""Next-time contours (Changen2, Sec. 3.5): the change mask between two masks and the class
boundaries carried over to the later one."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

CROSS = ndimage.generate_binary_structure(2, 1)
SQUARE = np.ones((3, 3), dtype=bool)


def change_mask(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    """Where the class changed, after a morphological opening with a 3 x 3 square, which drops
    changed slivers one or two pixels wide; the image edge does not erode a change that touches it.
    (H, W) bool.

    A square rather than the cross of the reference code: the cross would clip the four corner
    pixels of every changed rectangle (a demolished building would leave its corners behind).
    """
    changed = before != after
    core = ndimage.binary_erosion(changed, SQUARE, border_value=1)
    return ndimage.binary_dilation(core, SQUARE) & changed


def class_boundaries(mask: np.ndarray) -> np.ndarray:
    """Pixels with a 4-neighbour of another class (both sides of every class border). (H, W) bool."""
    return ndimage.grey_dilation(mask, footprint=CROSS) != ndimage.grey_erosion(mask, footprint=CROSS)


def next_time_contour(before: np.ndarray, after: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The change mask from ``before`` to ``after`` and the boundaries of ``after``.

    Outside the changed areas, dilated by a 3 x 3 square, the boundaries are those of ``before``:
    where nothing changed, the later date keeps the earlier date's contours exactly. Inside, they
    are those of ``after`` (where it changed; ``before`` elsewhere), so that a new object is drawn with its outline, as every object was in
    training. (Changen2 cuts the changed areas out of the earlier contours and leaves them empty,
    which asks a model trained on whole boundaries to draw new objects from conditions it never saw:
    ours drew them as shapeless blobs.)

    Returns:
        (change, boundary), both (H, W) bool.
    """
    change = change_mask(before, after)
    kept = np.where(change, after, before)  # slivers the opening dropped keep their earlier class
    boundary = np.where(
        ndimage.binary_dilation(change, SQUARE), class_boundaries(kept), class_boundaries(before)
    )
    return change, boundary
