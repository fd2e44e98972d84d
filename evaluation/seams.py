"""Seam scores of an unbounded canvas stitched from windows every ``stride`` pixels.

Two scores per axis, both about 1 on a seamless canvas and larger where the window cuts show:

- ``energy_ratio``: mean squared gradient across the cuts over that everywhere else;
- ``spectral_peak``: power of the column (row) gradient profile at the window frequency
  (1 / stride) over the median power of all other frequencies.

A cut at pixel ``c`` lies between pixels ``c - 1`` and ``c``; cuts fall at ``offset + k * stride``
(MetaEarth merges windows of ``T`` pixels every ``T/2`` with ``T/4`` cut from each side: stride
``T/2``, offset ``T/4``).
"""

from __future__ import annotations

import numpy as np

SEAM_METRICS = ("energy_ratio", "spectral_peak")
AXES = ("x", "y")


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


def energy_ratio(profile: np.ndarray, stride: int, offset: int) -> float:
    """Mean gradient energy at the cuts over the mean elsewhere (NaN without cuts)."""
    at_cuts = np.zeros(len(profile), dtype=bool)
    at_cuts[cut_positions(len(profile) + 1, stride, offset)] = True
    if not at_cuts.any() or at_cuts.all():
        return float("nan")
    inside = profile[~at_cuts].mean()
    return float(profile[at_cuts].mean() / inside) if inside > 0 else float("nan")


def spectral_peak(profile: np.ndarray, stride: int) -> float:
    """Power at frequency 1/stride over the median power of the other non-zero frequencies.

    The profile is trimmed to whole periods so that the window frequency falls on one FFT bin.
    """
    periods = len(profile) // stride
    if periods < 2:
        return float("nan")
    trimmed = profile[: periods * stride]
    power = np.abs(np.fft.rfft(trimmed - trimmed.mean())) ** 2
    others = np.delete(power[1:], periods - 1)
    floor = np.median(others)
    return float(power[periods] / floor) if floor > 0 else float("nan")


def seam_scores(canvas: np.ndarray, *, stride: int, offset: int = 0) -> dict[tuple[str, str], float]:
    """``{(axis, metric): score}`` for axes x, y and :data:`SEAM_METRICS` (see the module docstring)."""
    if stride < 2:
        raise ValueError(f"window stride must be at least 2 pixels, got {stride}")
    scores = {}
    for axis in AXES:
        profile = gradient_profile(canvas, axis)
        scores[(axis, "energy_ratio")] = energy_ratio(profile, stride, offset)
        scores[(axis, "spectral_peak")] = spectral_peak(profile, stride)
    return scores
