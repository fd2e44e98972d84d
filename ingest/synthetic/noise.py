"""Coordinate-seeded value noise: smooth random fields of position in metres.

A field is defined by random values hashed at the nodes of a square lattice (``cell`` metres
apart, anchored at the CRS origin) and blended between nodes with the quintic fade
``6t^5 - 15t^4 + 10t^3``, so it is continuous with continuous first derivatives. Only ``+ - * /``
and ``floor`` touch floats, so values are bit-identical on any machine.

Two evaluation paths give the same numbers: :func:`value_noise` for arbitrary points and
:func:`value_noise_on_axes` for the rectilinear sample grids of a render (nodes hashed once, then
gathered, which is much faster).
"""

from __future__ import annotations

from typing import Literal, cast, overload

import numpy as np

from terrasynth.ingest.synthetic.hashing import signed


def _fade(t: np.ndarray) -> np.ndarray:
    return t * t * t * (t * (t * 6.0 - 15.0) + 10.0)


def _fade_slope(t: np.ndarray) -> np.ndarray:
    s = t * (t - 1.0)
    return s * s * 30.0


def value_noise(x: np.ndarray, y: np.ndarray, cell: float, key: int | np.ndarray) -> np.ndarray:
    """Value noise in [-1, 1] at points (``x``, ``y``, metres, broadcast together)."""
    u, v = np.asarray(x) / cell, np.asarray(y) / cell
    i, j = np.floor(u), np.floor(v)
    su, sv = _fade(u - i), _fade(v - j)
    i, j = i.astype(np.int64), j.astype(np.int64)
    bottom = signed(key, i, j) + (signed(key, i + 1, j) - signed(key, i, j)) * su
    top = signed(key, i, j + 1) + (signed(key, i + 1, j + 1) - signed(key, i, j + 1)) * su
    return bottom + (top - bottom) * sv


def axis_nodes(below: np.ndarray, before: int, after: int) -> tuple[np.ndarray, np.ndarray]:
    """Lattice nodes needed along one axis of a grid, and where each sample's node lies among them.

    ``below`` holds each sample's node index (int64). The nodes run from ``before`` nodes before
    the first to ``after`` nodes after the last; where samples are much sparser than the nodes,
    each sample gets its own run of ``before + 1 + after`` nodes instead (repeats are harmless).
    """
    first, last = int(below.min()) - before, int(below.max()) + after
    run = before + 1 + after
    if last - first + 1 <= run * len(below):
        return np.arange(first, last + 1), below - first
    nodes = below[:, None] + np.arange(-before, after + 1)
    return nodes.ravel(), np.arange(len(below)) * run + before


@overload
def value_noise_on_axes(
    x: np.ndarray, y: np.ndarray, cell: float, key: int, *, gradient: Literal[False] = False
) -> np.ndarray: ...


@overload
def value_noise_on_axes(
    x: np.ndarray, y: np.ndarray, cell: float, key: int, *, gradient: Literal[True]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]: ...


def value_noise_on_axes(
    x: np.ndarray, y: np.ndarray, cell: float, key: int, *, gradient: bool = False
) -> np.ndarray | tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Value noise on the grid of points ``x`` (columns, metres) by ``y`` (rows, metres).

    Returns the (len(y), len(x)) field, and with ``gradient`` also its derivatives along x and y
    (per metre). Equal to :func:`value_noise` at the same points.
    """
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    u, v = x / cell, y / cell
    fu, fv = np.floor(u), np.floor(v)
    tu, tv = u - fu, v - fv
    node_i, ci = axis_nodes(fu.astype(np.int64), 0, 1)
    node_j, rj = axis_nodes(fv.astype(np.int64), 0, 1)
    nodes = signed(key, node_i[None, :], node_j[:, None])
    left, right = nodes[:, ci], nodes[:, ci + 1]  # (node rows, columns)
    su = _fade(tu)
    across = left + (right - left) * su
    bottom, top = across[rj], across[rj + 1]
    sv = _fade(tv)[:, None]
    value = bottom + (top - bottom) * sv
    if not gradient:
        return value
    along = (right - left) * (_fade_slope(tu) / cell)
    d_bottom, d_top = along[rj], along[rj + 1]
    dx = d_bottom + (d_top - d_bottom) * sv
    dy = (top - bottom) * (_fade_slope(tv) / cell)[:, None]
    return value, dx, dy


def fbm(
    x: np.ndarray, y: np.ndarray, cell: float, octaves: int, key: int, *, gain: float = 0.5
) -> np.ndarray:
    """Fractal sum of ``octaves`` value noises at points, cells halving from ``cell`` metres.

    Each octave's amplitude is ``gain`` times the previous one; the sum is divided by the total
    amplitude, so the result stays in [-1, 1].
    """
    total: np.ndarray | float = 0.0
    amplitude, norm = 1.0, 0.0
    for octave in range(octaves):
        total = total + value_noise(x, y, cell / 2**octave, key + octave) * amplitude
        norm += amplitude
        amplitude *= gain
    return cast(np.ndarray, total) / norm  # an array once an octave is added (none: 0.0 / 0.0 raises)


def fbm_on_axes(
    x: np.ndarray, y: np.ndarray, cell: float, octaves: int, key: int, *, gain: float = 0.5
) -> np.ndarray:
    """:func:`fbm` on the grid of ``x`` (columns) by ``y`` (rows), metres."""
    total: np.ndarray | float = 0.0
    amplitude, norm = 1.0, 0.0
    for octave in range(octaves):
        total = total + value_noise_on_axes(x, y, cell / 2**octave, key + octave) * amplitude
        norm += amplitude
        amplitude *= gain
    return cast(np.ndarray, total) / norm  # an array once an octave is added (none: 0.0 / 0.0 raises)
