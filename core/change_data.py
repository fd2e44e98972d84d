"""Change data on disk: the LEVIR-CD, S2Looking and SECOND folder layouts, the SECOND colour
palette, and the Zarr layout of generated change time series.

Folder layouts (PNG files with the same name in every folder of a split; JPEG and TIFF files are
read too, matched by name without extension)::

    LEVIR-CD   {train,val,test}/{A,B,label}/*.png           label 0/255 = no change / change
    S2Looking  {train,val,test}/{Image1,Image2,label,label1,label2}/*.png
    SECOND     {train,test}/{im1,im2,label1,label2}/*.png     labels are colour maps (SECOND_PALETTE)

Time series (a Zarr store of one ``xarray.Dataset``)::

    image    (series, time, band, y, x)  uint8 (RGB) or uint16 (reflectance x 1e4)
    semantic (series, time, y, x)        uint8 class codes, 0 = unknown
    change   (series, time, y, x)        uint8, 1 where the scene changed since the previous time
                                          (all 0 at time 0)
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import xarray as xr
from PIL import Image

from terrasynth.core.errors import CorpusError
from terrasynth.core.outputs import atomic_path


@dataclass(frozen=True)
class ChangeLayout:
    """A bitemporal data set's folders: images at two dates and label maps, per split."""

    name: str
    images: tuple[str, str]
    labels: tuple[str, ...]
    splits: tuple[str, ...]


LEVIR_CD = ChangeLayout("levir-cd", ("A", "B"), ("label",), ("train", "val", "test"))
S2LOOKING = ChangeLayout(
    "s2looking", ("Image1", "Image2"), ("label", "label1", "label2"), ("train", "val", "test")
)
SECOND = ChangeLayout("second", ("im1", "im2"), ("label1", "label2"), ("train", "test"))

SECOND_CLASSES = ("unchanged", "water", "ground", "low_vegetation", "tree", "building", "playground")
"""SECOND semantic values 0-6; 0 means no change (its label maps are only labelled where changed)."""
SECOND_PALETTE = np.array(
    [[255, 255, 255], [0, 0, 255], [128, 128, 128], [0, 128, 0], [0, 255, 0], [128, 0, 0], [255, 0, 0]],
    dtype=np.uint8,
)
"""RGB colour of each SECOND value, as in the published label maps."""


_SECOND_OF_WORLDCOVER = {80: "water", 60: "ground", 70: "ground", 50: "ground", 10: "tree"}
"""WorldCover codes with a SECOND class other than low vegetation (buildings are set apart)."""


def second_classes(landcover: np.ndarray, buildings: np.ndarray) -> np.ndarray:
    """SECOND values (1-6) of a WorldCover map, with building footprints as 5 (building)."""
    lookup = np.full(256, SECOND_CLASSES.index("low_vegetation"), np.uint8)
    for code, name in _SECOND_OF_WORLDCOVER.items():
        lookup[code] = SECOND_CLASSES.index(name)
    values = lookup[landcover]
    return np.where(buildings, np.uint8(SECOND_CLASSES.index("building")), values)


def second_to_rgb(values: np.ndarray) -> np.ndarray:
    """A SECOND value map (0-6) as its (..., 3) uint8 colour map."""
    values = np.asarray(values)
    if values.size and (values.min() < 0 or values.max() >= len(SECOND_PALETTE)):
        raise CorpusError(f"SECOND values must be 0-6, got {int(values.min())}..{int(values.max())}")
    return SECOND_PALETTE[values]


def second_from_rgb(rgb: np.ndarray, *, where: str = "label map") -> np.ndarray:
    """A SECOND colour map (..., 3) as values 0-6; an unknown colour raises :class:`CorpusError`."""
    rgb = np.asarray(rgb, dtype=np.uint8)
    values = np.full(rgb.shape[:-1], 255, dtype=np.uint8)
    for value, colour in enumerate(SECOND_PALETTE):
        values[(rgb == colour).all(axis=-1)] = value
    unknown = values == 255
    if unknown.any():
        r, g, b = rgb[unknown][0]
        raise CorpusError(f"{where}: colour ({r}, {g}, {b}) is not in the SECOND palette")
    return values


def write_png(path: str | Path, array: np.ndarray) -> None:
    """Write a uint8 (H, W) or (H, W, 3) array as PNG, atomically (a temporary name, then renamed)."""
    with atomic_path(path) as partial:
        Image.fromarray(np.ascontiguousarray(array, dtype=np.uint8)).save(partial, format="PNG")


IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff")
"""The image files of change pair folders: PNG (as published), JPEG and TIFF."""
_SIXTEEN_BIT = ("I;16", "I;16B", "I;16L", "I")  # Pillow's modes of 16-bit grey images


def read_png(path: str | Path, *, rgb: bool = False) -> np.ndarray:
    """A PNG (or JPEG, TIFF) as an array: uint8 (H, W, 3) with ``rgb``, else as stored (grey
    (H, W) or colour; 16-bit grey as uint16). An unreadable file is a :class:`CorpusError`."""
    with _opened(path) as image:
        return np.asarray(image.convert("RGB") if rgb else image)


def read_image(path: str | Path) -> np.ndarray:
    """An image of a change pair as float32 (H, W, 3) in [0, 1]: 8-bit values / 255, 16-bit ones
    / 65535 (grey repeated in every channel; Pillow reads 16-bit colour as 8-bit). Floating-point
    images are refused, as is an unreadable file (:class:`CorpusError` naming it)."""
    with _opened(path) as image:
        if image.mode in _SIXTEEN_BIT:
            values = np.asarray(image)
            if values.size and (values.min() < 0 or values.max() > 65535):
                raise CorpusError(
                    f"{path} holds values beyond 16 bits: change pair images must be 8- or 16-bit"
                )
            return np.repeat((values.astype(np.float32) / 65535)[..., None], 3, axis=-1)
        if image.mode == "F":
            raise CorpusError(f"{path} holds floating-point values: change pair images must be 8- or 16-bit")
        return np.asarray(image.convert("RGB"), dtype=np.float32) / 255


def image_size(path: str | Path) -> tuple[int, int]:
    """(rows, columns) of an image, from its header."""
    with _opened(path) as image:
        return image.height, image.width


@contextlib.contextmanager
def _opened(path: str | Path) -> Iterator[Image.Image]:
    """The image at ``path``; a file that is not one, or is cut short, is a :class:`CorpusError`."""
    try:
        with Image.open(path) as image:
            yield image
    except (FileNotFoundError, PermissionError):
        raise
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as error:
        reason = " ".join(str(error).split()) or type(error).__name__
        raise CorpusError(
            f"{path} cannot be read as an image ({reason}): it is truncated or damaged; replace it"
        ) from None


def change_series(image: np.ndarray, semantic: np.ndarray, change: np.ndarray, **attrs) -> xr.Dataset:
    """A change time series Dataset in the layout above, checked for consistent shapes."""
    if image.ndim != 5 or semantic.ndim != 4 or change.shape != semantic.shape:
        raise CorpusError(
            f"change series needs image (series, time, band, y, x) and semantic/change (series, time, y, x); "
            f"got {image.shape}, {semantic.shape}, {change.shape}"
        )
    if image.shape[:2] + image.shape[3:] != semantic.shape:
        raise CorpusError(
            f"image {image.shape} and semantic {semantic.shape} disagree on series, time or size"
        )
    return xr.Dataset(
        {
            "image": (("series", "time", "band", "y", "x"), image),
            "semantic": (("series", "time", "y", "x"), semantic.astype(np.uint8)),
            "change": (("series", "time", "y", "x"), change.astype(np.uint8)),
        },
        attrs=attrs,
    )
