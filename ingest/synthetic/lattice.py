"""Smooth fields evaluated on a coarse global lattice and interpolated bilinearly.

Large-scale fields (terrain, moisture, the river and road networks) change little over a few
metres, and some are costly (warped fractal noise). Each is evaluated only at the nodes of a
square lattice ``spacing`` metres apart, anchored at the CRS origin, and interpolated bilinearly in
between. The interpolated field is itself a fixed function of position, so windows, chunks and
resolutions all agree exactly.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from terrasynth.ingest.synthetic.noise import axis_nodes

NodeFunction = Callable[[np.ndarray, np.ndarray], dict[str, np.ndarray]]
"""Maps node coordinates x (n,) and y (m,), metres, to named (m, n) fields."""


def interpolate_fields(
    function: NodeFunction, spacing: float, x: np.ndarray, y: np.ndarray
) -> dict[str, np.ndarray]:
    """The fields of ``function`` on the grid of ``x`` (columns) by ``y`` (rows), metres.

    Around the nodes it interpolates from, ``function`` also gets the node before and after along
    each axis, so that it can take derivatives with :func:`node_gradient`.
    """
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    node_x, column, tu = _nodes_along(x, spacing)
    node_y, row, tv = _nodes_along(y, spacing)
    fields = function(node_x, node_y)
    tv = tv[:, None]
    out = {}
    for name, f in fields.items():
        left, right = f[:, column], f[:, column + 1]
        across = left + (right - left) * tu
        bottom, top = across[row], across[row + 1]
        out[name] = bottom + (top - bottom) * tv
    return out


def _nodes_along(coordinates: np.ndarray, spacing: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Node coordinates along one axis (with one spare node on either side), the index among them
    of the node below each coordinate, and the coordinate's fraction of the way to the next node."""
    position = coordinates / spacing
    below = np.floor(position)
    nodes, index = axis_nodes(below.astype(np.int64), 1, 2)
    return nodes * spacing, index, position - below


def node_gradient(field: np.ndarray, spacing: float) -> tuple[np.ndarray, np.ndarray]:
    """Derivatives along x and y (per metre) of a node field, by central differences; zero on the
    outer nodes, which :func:`interpolate_fields` never interpolates from."""
    dx = np.zeros_like(field)
    dy = np.zeros_like(field)
    dx[:, 1:-1] = (field[:, 2:] - field[:, :-2]) / (2.0 * spacing)
    dy[1:-1, :] = (field[2:, :] - field[:-2, :]) / (2.0 * spacing)
    return dx, dy


def distance_to_zero_line(field: np.ndarray, spacing: float) -> np.ndarray:
    """Signed distance (metres) from each node to the field's zero line, estimated as
    ``field / |gradient|``: exact near the line for a smooth field, which is all it is used for."""
    dx, dy = node_gradient(field, spacing)
    return field / (np.sqrt(dx * dx + dy * dy) + 1e-12)
