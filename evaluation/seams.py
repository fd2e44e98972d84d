"""Seam scores of an unbounded canvas stitched from windows every ``stride`` pixels.

Two scores per axis, both about 1 on a seamless canvas and larger where the window cuts show.
Both read the gradient profile: the mean squared step between neighbouring columns (rows). The
axis ``both`` pools the cuts of the two axes (the windows are cut along both): twice the cuts, so
about 1 / sqrt(2) of one axis' chance spread.

- ``energy_ratio``: the gradient energy of the cut columns over what the same columns hold
  without a cut, estimated from the columns at the same phase of the condition's pixel grid;
- ``spectral_peak``: power of the profile at the window frequency (1 / stride) over the median
  power of all other frequencies.

A cut at pixel ``c`` lies between pixels ``c - 1`` and ``c``; cuts fall at ``offset + k * stride``
(MetaEarth merges windows of ``T`` pixels every ``T/2`` with ``T/4`` cut from each side: stride
``T/2``, offset ``T/4``).

**The condition's pixel grid.** A cascade stage upsamples its condition, and its canvas keeps the
condition's pixel grid: a column's gradient energy depends on where it sits within a condition
pixel. The grid repeats every ``period`` canvas pixels (:func:`grid_period`: 4 from 16 m to 4 m;
15 from 60 m to 16 m, where 15 pixels span 4 condition pixels). When the period shares a factor
with the stride, the cuts always meet the grid at the same phases (stride 16, offset 8 and
period 4: the step of every cut is at phase 3), and comparing them with all other columns measures the grid, not the seams: a
bicubic x4 upsampling of noise, with no windows at all, scores 1.5. So each cut column is compared
with the columns at its own phase (index mod ``period``) that are not cuts: ``energy_ratio`` is the
energy summed over the cuts over the sum of those phase means at the cuts. With ``period`` 1 every
column shares one phase, and it is the mean at the cuts over the mean elsewhere.

Only the grid of the stage's own condition is matched. A canvas made through several stages also
keeps coarser grids (the 60 m one, every 15 pixels, in a 4 m canvas made through 16 m); these bias
the score only where the cuts meet their phases unevenly: a period sharing a factor with the
stride, or too few cuts to go round its phases once (15 for period 15 and stride 16).

``spectral_peak`` is left as it is. It reads the window frequency's fundamental, and a grid whose
period divides the stride and is shorter than it has its lines at multiples of 1 / period, harmonics of the window
frequency (the 4th, 8th, ... for 4 and 16) but never the fundamental. A grid period near the
stride does reach it (the 60 m grid, every 15 pixels at 16 m and at 4 m, against stride 16): the
content varies from one condition pixel to the next, which spreads the grid's lines into
neighbouring frequencies, so subtracting each phase's mean does not remove them (on the demo's
canvases it raised the bicubic baseline's peak). Read it against the bicubic baseline's, which
has the coarsest grid too.

Noise: ``energy_ratio`` averages the cuts, so its spread falls as one over the square root of
their number; ``chance_spread`` measures it on each canvas (the ratio's standard deviation with
the cuts moved to the offsets where no window was cut), so that a score is read against it. A 120 px canvas with stride 16 and offset 8 has 7 cuts per axis: cut at the 15 offsets where the
windows were not, the demo's generated 16 m canvas scored 0.80 to 1.27 (standard deviation 0.12);
its 480 px 4 m canvas, with 30, scored 0.92 to 1.07 (0.04). Scores are NaN without cuts, and when
a cut's phase holds no other column (a period that is a multiple of the stride puts every column
of that phase on a cut: the grid and the seams cannot be told apart).
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction

import numpy as np

SEAM_METRICS = ("energy_ratio", "chance_spread", "spectral_peak")
AXES = ("x", "y")
POOLED = "both"
"""The axis name of the scores that pool the cuts of both :data:`AXES`."""
SEAM_AXES = (*AXES, POOLED)
MAX_CONDITION_PIXELS = 16
"""The most condition pixels one grid period may span (:func:`grid_period`)."""


def grid_period(gsd: float, condition_gsd: float | None) -> int:
    """The period of the condition's pixel grid in canvas pixels: the fewest canvas pixels that
    span a whole number of condition pixels (1 without a condition).

    Args:
        gsd: the canvas' metres per pixel.
        condition_gsd: the condition's metres per pixel (at least ``gsd``), or None.
    """
    if condition_gsd is None:
        return 1
    if not condition_gsd >= gsd > 0:
        raise ValueError(f"a condition of {condition_gsd} m is not coarser than a canvas of {gsd} m")
    return Fraction(condition_gsd / gsd).limit_denominator(MAX_CONDITION_PIXELS).numerator


def gradient_profile(canvas: np.ndarray, axis: str) -> np.ndarray:
    """Mean squared difference between neighbouring columns (``"x"``) or rows (``"y"``).

    Args:
        canvas: ``(H, W)`` or ``(C, H, W)`` image.

    Returns:
        ``(W - 1,)`` or ``(H - 1,)``; entry ``j`` is the step between pixels ``j`` and ``j + 1``.
    """
    image = np.asarray(canvas, dtype=np.float64)
    image = image[None] if image.ndim == 2 else image
    along = {"x": 2, "y": 1}[axis]
    steps = np.diff(image, axis=along) ** 2
    other = tuple(i for i in range(3) if i != along)
    return steps.mean(axis=other)


def cut_positions(length: int, stride: int, offset: int) -> np.ndarray:
    """Profile indices (see :func:`gradient_profile`) of the cuts inside a canvas of ``length`` pixels."""
    cuts = np.arange(offset % stride, length, stride)
    cuts = cuts[cuts > 0]
    return cuts - 1


Profiles = np.ndarray | Sequence[np.ndarray]
"""One gradient profile, or several (one per axis) whose cuts a score pools."""


def energy_ratio(profiles: Profiles, stride: int, offset: int, period: int = 1) -> float:
    """Gradient energy summed over the cuts over that expected there: per cut, the mean of the
    non-cut entries at its phase of the condition grid (index mod ``period``; see the module
    docstring). Several profiles pool their cuts. NaN without cuts or where a cut's phase holds no
    other entry."""
    energies = [_cut_energy(profile, stride, offset, period) for profile in _listed(profiles)]
    observed, expected = np.sum(energies, axis=0)
    return float(observed / expected) if expected > 0 else float("nan")


def _cut_energy(profile: np.ndarray, stride: int, offset: int, period: int) -> tuple[float, float]:
    """The gradient energy summed over the cuts and that expected there (NaNs where
    :func:`energy_ratio` is NaN)."""
    cuts = cut_positions(len(profile) + 1, stride, offset)
    phase = np.arange(len(profile)) % period
    free = np.ones(len(profile), dtype=bool)
    free[cuts] = False
    counts = np.bincount(phase[free], minlength=period)
    if not len(cuts) or not counts[phase[cuts]].all():
        return float("nan"), float("nan")
    means = np.bincount(phase[free], weights=profile[free], minlength=period) / np.maximum(counts, 1)
    return float(profile[cuts].sum()), float(means[phase[cuts]].sum())


def chance_spread(profiles: Profiles, stride: int, offset: int, period: int = 1) -> float:
    """How far :func:`energy_ratio` strays from 1 by chance on these profiles: its standard
    deviation with the cuts moved to each other offset within the stride, where no window was cut
    (NaN with fewer than two such scores). A ratio within about two spreads of 1 shows no seam."""
    ratios = [
        energy_ratio(profiles, stride, other, period) for other in range(stride) if other != offset % stride
    ]
    finite = [ratio for ratio in ratios if np.isfinite(ratio)]
    return float(np.std(finite)) if len(finite) > 1 else float("nan")


def spectral_peak(profiles: Profiles, stride: int) -> float:
    """Power at frequency 1/stride over the median power of the other non-zero frequencies (several
    profiles: their powers and medians summed).

    Each profile is trimmed to whole periods so that the window frequency falls on one FFT bin.
    """
    peak = floor = 0.0
    for profile in _listed(profiles):
        periods = len(profile) // stride
        if periods < 2:
            return float("nan")
        trimmed = profile[: periods * stride]
        power = np.abs(np.fft.rfft(trimmed - trimmed.mean())) ** 2
        peak += power[periods]
        floor += np.median(np.delete(power[1:], periods - 1))
    return float(peak / floor) if floor > 0 else float("nan")


def _listed(profiles: Profiles) -> list[np.ndarray]:
    return [profiles] if isinstance(profiles, np.ndarray) else list(profiles)


def seam_scores(
    canvas: np.ndarray, *, stride: int, offset: int = 0, period: int = 1
) -> dict[tuple[str, str], float]:
    """``{(axis, metric): score}`` for :data:`SEAM_AXES` (x, y and both pooled) and
    :data:`SEAM_METRICS` (see the module docstring).

    Args:
        canvas: ``(H, W)`` or ``(C, H, W)`` image.
        stride, offset: the windows' stride and first cut, pixels.
        period: the condition's pixel grid period in canvas pixels (:func:`grid_period`; 1: none).
    """
    if stride < 2:
        raise ValueError(f"window stride must be at least 2 pixels, got {stride}")
    if period < 1:
        raise ValueError(f"the condition grid's period must be at least 1 pixel, got {period}")
    scores = {}
    profiles = {axis: gradient_profile(canvas, axis) for axis in AXES}
    for axis in SEAM_AXES:
        profile = list(profiles.values()) if axis == POOLED else profiles[axis]
        ratio = energy_ratio(profile, stride, offset, period)
        scores[(axis, "energy_ratio")] = ratio
        spread = chance_spread(profile, stride, offset, period) if np.isfinite(ratio) else float("nan")
        scores[(axis, "chance_spread")] = spread  # NaN where the ratio is: nothing to read against it
        scores[(axis, "spectral_peak")] = spectral_peak(profile, stride)
    return scores
