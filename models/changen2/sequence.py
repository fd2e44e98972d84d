"""Simulated change sequences: chains of change events from one semantic mask, of any length,
reproducible from one seed."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from terrasynth.core.errors import ConfigError
from terrasynth.core.landcover import BUILDING
from terrasynth.models.changen2.contour import class_boundaries, next_time_contour
from terrasynth.models.changen2.events import MAX_TRIES, add_objects, remove_objects, transition
from terrasynth.models.changen2.transition_kernels import (
    OPENEARTHMAP_TRANSITIONS,
    SECOND_TRANSITIONS,
    WORLDCOVER_TRANSITIONS,
    TransitionKernel,
    check_kernel,
    uniform_transitions,
)


@dataclass(frozen=True)
class ChangeEvents:
    """What may happen between two dates. Each step removes objects, then adds objects, then
    relabels components under the transition kernel.

    Attributes:
        remove: (least, most) objects removed per step; (0, 0) for none.
        add: (least, most) objects added per step; (0, 0) for none.
        kernel: the transition kernel (class -> classes it may become); empty for no transitions.
        transition_p: probability that a component of a kernel class is relabelled in a step.
        object_classes: the classes whose components are objects to add or remove (every class but
            0 when ``None``, which suits binary building masks).
        ground: the classes an added object may stand on (anywhere free of objects when ``None``).
        fill: the class a removed object leaves behind.
        small_area: components of this many square metres or fewer are never touched (Changen2
            leaves components of 64 pixels alone at about 1 m; a small house covers about 50 m²).
        max_tries: random placements tried per added object.
    """

    remove: tuple[int, int] = (1, 5)
    add: tuple[int, int] = (1, 5)
    kernel: TransitionKernel = field(default_factory=dict)
    transition_p: float = 0.3
    object_classes: tuple[int, ...] | None = None
    ground: tuple[int, ...] | None = None
    fill: int = 0
    small_area: float = 32.0
    max_tries: int = MAX_TRIES

    def __post_init__(self):
        for name in ("remove", "add"):
            least, most = getattr(self, name)
            if not 0 <= least <= most:
                raise ConfigError(
                    f"change events: {name}={(least, most)} must be (least, most) with 0 <= least <= most"
                )
        if not 0.0 <= self.transition_p <= 1.0:
            raise ConfigError(f"change events: transition_p={self.transition_p} must lie in [0, 1]")
        check_kernel(self.kernel)
        if not self.small_area >= 0:
            raise ConfigError(f"change events: small_area={self.small_area} must be >= 0 square metres")

    def small_pixels(self, gsd: float) -> int:
        """:attr:`small_area` in pixels of ``gsd`` metres."""
        if not gsd > 0:
            raise ConfigError(f"change events need the masks' resolution in metres per pixel, got {gsd!r}")
        return int(self.small_area / (gsd * gsd))


BUILDING_EVENTS = ChangeEvents()
"""Binary building masks (0 background, 1 building): buildings appear and are demolished."""
WORLDCOVER_EVENTS = ChangeEvents(
    kernel=WORLDCOVER_TRANSITIONS, object_classes=(BUILDING,), ground=(20, 30, 40, 60), fill=60
)
"""ESA WorldCover with building footprints (:data:`~terrasynth.core.landcover.BUILDING`): buildings
are built on shrub, grass, crops or bare ground and demolished to bare ground; classes transition."""
SECOND_EVENTS = ChangeEvents(kernel=SECOND_TRANSITIONS, object_classes=(5,), fill=2)
"""SECOND values: buildings appear and are demolished (to ground); classes transition."""
OPENEARTHMAP_EVENTS = ChangeEvents(kernel=OPENEARTHMAP_TRANSITIONS, object_classes=(8,), fill=1)
"""OpenEarthMap: buildings appear and are demolished (to bareland); classes transition."""


def pseudo_mask_events(classes: int, transition_p: float = 0.3) -> ChangeEvents:
    """Events for pseudo-masks (codes 1..``classes`` without meaning, no background to build on):
    no objects added or removed; each large region may turn into any other pseudo-class."""
    return ChangeEvents(
        remove=(0, 0),
        add=(0, 0),
        kernel=uniform_transitions(range(1, classes + 1)),
        transition_p=transition_p,
    )


@dataclass(frozen=True)
class ChangeSequence:
    """A simulated time series of masks.

    Attributes:
        masks: (T, H, W) class codes, the first one the input mask.
        changes: (T, H, W) bool, True where the class changed since the previous date (all False
            at the first date); always exactly ``masks[t] != masks[t - 1]``.
        boundaries: (T, H, W) bool class boundaries to draw each date with (next-time contours).
    """

    masks: np.ndarray
    changes: np.ndarray
    boundaries: np.ndarray


def simulate_changes(
    mask: np.ndarray, length: int, events: ChangeEvents, rng: np.random.Generator | int, *, gsd: float
) -> ChangeSequence:
    """Chain ``length - 1`` change steps from ``mask``.

    After each step, the change mask is opened (:func:`~terrasynth.models.changen2.contour.change_mask`)
    and the slivers the opening drops are put back to their earlier class, so the change mask is
    exactly where the classes differ.

    Args:
        mask: (H, W) integer class codes of the first date.
        length: number of dates T >= 1.
        events: what may happen between two dates.
        rng: the one source of randomness (a seed is turned into ``numpy.random.default_rng(seed)``);
            the same generator state gives the same sequence.
        gsd: metres per mask pixel (sizes in the events are in square metres).
    """
    mask = np.asarray(mask)
    if mask.ndim != 2 or not np.issubdtype(mask.dtype, np.integer):
        raise ConfigError(f"change simulation needs an (H, W) integer mask, got {mask.dtype} {mask.shape}")
    if length < 1:
        raise ConfigError(f"change simulation needs length >= 1 dates, got {length}")
    rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    small = events.small_pixels(gsd)
    masks, changes, boundaries = [mask], [np.zeros(mask.shape, bool)], [class_boundaries(mask)]
    for _ in range(length - 1):
        before = masks[-1]
        after = _step(before, events, rng, small)
        change, boundary = next_time_contour(before, after)
        masks.append(np.where(change, after, before))
        changes.append(change)
        boundaries.append(boundary)
    return ChangeSequence(np.stack(masks), np.stack(changes), np.stack(boundaries))


def _step(mask: np.ndarray, events: ChangeEvents, rng: np.random.Generator, small: int) -> np.ndarray:
    common: dict[str, Any] = {"object_classes": events.object_classes, "small_area": small}
    if events.remove[1]:
        count = int(rng.integers(events.remove[0], events.remove[1] + 1))
        mask = remove_objects(mask, count, rng, fill=events.fill, **common)
    if events.add[1]:
        count = int(rng.integers(events.add[0], events.add[1] + 1))
        mask = add_objects(mask, count, rng, ground=events.ground, max_tries=events.max_tries, **common)
    if events.kernel:
        mask = transition(mask, events.kernel, events.transition_p, rng, small_area=small)
    return mask
