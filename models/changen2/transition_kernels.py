"""Transition kernels: for each class, the classes it may turn into when a change event relabels it.

A kernel maps a class code to the tuple of codes it may become; a class the kernel does not name
never changes class. Code 0 is "unknown" (or "no data") in every scheme here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from terrasynth.core.errors import ConfigError

TransitionKernel = Mapping[int, tuple[int, ...]]

# ESA WorldCover codes (terrasynth.core.landcover.WORLDCOVER).
_TREE, _SHRUB, _GRASS, _CROP, _BUILT, _BARE, _SNOW, _WATER, _WETLAND, _MANGROVE, _MOSS = (
    10, 20, 30, 40, 50, 60, 70, 80, 90, 95, 100,
)  # fmt: skip

WORLDCOVER_TRANSITIONS: TransitionKernel = {
    _TREE: (_SHRUB, _GRASS, _CROP, _BUILT, _BARE),  # clearing, conversion to farmland, construction
    _SHRUB: (_TREE, _GRASS, _CROP, _BUILT, _BARE),
    _GRASS: (_TREE, _SHRUB, _CROP, _BUILT, _BARE, _WATER),
    _CROP: (_GRASS, _BUILT, _BARE, _WATER),
    _BUILT: (_BARE, _GRASS, _TREE),  # demolition, greening
    _BARE: (_GRASS, _CROP, _BUILT, _WATER, _SHRUB),
    _SNOW: (_BARE, _WATER),
    _WATER: (_BARE, _GRASS, _BUILT, _CROP, _WETLAND),  # drying, reclamation
    _WETLAND: (_WATER, _GRASS, _CROP, _BUILT),
    _MANGROVE: (_WATER, _BARE, _WETLAND, _CROP),
    _MOSS: (_BARE, _SNOW),
}
"""ESA WorldCover; no data (0) stays no data, as the image there is undefined."""

# SECOND values (terrasynth.core.change_data.SECOND_CLASSES).
_S_WATER, _S_GROUND, _S_LOW_VEGETATION, _S_TREE, _S_BUILDING, _S_PLAYGROUND = 1, 2, 3, 4, 5, 6

SECOND_TRANSITIONS: TransitionKernel = {
    0: (1, 2, 3, 4, 5, 6),
    _S_WATER: (_S_GROUND, _S_LOW_VEGETATION, _S_TREE, _S_BUILDING),
    _S_GROUND: (_S_WATER, _S_LOW_VEGETATION, _S_TREE, _S_BUILDING, _S_PLAYGROUND),
    _S_LOW_VEGETATION: (_S_WATER, _S_GROUND, _S_TREE, _S_BUILDING, _S_PLAYGROUND),
    _S_TREE: (_S_WATER, _S_GROUND, _S_LOW_VEGETATION, _S_BUILDING, _S_PLAYGROUND),
    _S_BUILDING: (_S_GROUND, _S_LOW_VEGETATION, _S_TREE),
    _S_PLAYGROUND: (_S_GROUND, _S_LOW_VEGETATION, _S_BUILDING),
}
"""SECOND's six land-cover classes; unknown (0) may become any of them."""

# OpenEarthMap codes.
_BARELAND, _RANGELAND, _DEVELOPED, _ROAD, _OEM_TREE, _OEM_WATER, _AGRICULTURE, _BUILDING = range(1, 9)

OPENEARTHMAP_TRANSITIONS: TransitionKernel = {
    0: tuple(range(1, 9)),
    _BARELAND: (_RANGELAND, _DEVELOPED, _OEM_TREE, _OEM_WATER, _AGRICULTURE),
    _RANGELAND: (_BARELAND, _DEVELOPED, _OEM_TREE, _OEM_WATER, _AGRICULTURE),
    _DEVELOPED: (_BARELAND, _RANGELAND, _OEM_TREE, _OEM_WATER, _AGRICULTURE),
    _ROAD: (_BARELAND, _DEVELOPED, _OEM_TREE, _OEM_WATER),
    _OEM_TREE: (_BARELAND, _RANGELAND, _DEVELOPED, _OEM_WATER, _AGRICULTURE),
    _OEM_WATER: (_BARELAND, _RANGELAND, _DEVELOPED, _OEM_TREE, _AGRICULTURE),
    _AGRICULTURE: (_BARELAND, _RANGELAND, _DEVELOPED, _OEM_TREE, _OEM_WATER),
    _BUILDING: (_DEVELOPED, _OEM_TREE, _OEM_WATER),
}
"""OpenEarthMap's eight classes (1 bareland ... 8 building), as in the Changen2 release (less its
agriculture -> agriculture entry, which changes nothing)."""


def uniform_transitions(classes: Iterable[int]) -> TransitionKernel:
    """Every class may become any other: the kernel for classes without meaning (pseudo-masks)."""
    classes = sorted(set(classes))
    return {c: tuple(o for o in classes if o != c) for c in classes} if len(classes) > 1 else {}


def check_kernel(kernel: TransitionKernel) -> None:
    """Raise :class:`ConfigError` unless ``kernel`` maps class codes to non-empty tuples of codes."""
    for source, targets in kernel.items():
        if not targets or not all(isinstance(t, int) and t >= 0 for t in (source, *targets)):
            raise ConfigError(
                f"transition kernel entry {source!r} -> {targets!r} must map a class code (int >= 0) "
                "to a non-empty tuple of class codes"
            )
