"""Integer hashing of lattice coordinates: the world's only source of randomness.

Every random choice in the synthetic world is a hash of integers (lattice indices, object ids, a
stream key derived from the seed), computed with wrapping 64-bit integer arithmetic. No float
enters a hash, so the same seed gives the same world on any machine.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_MASK = 0xFFFFFFFFFFFFFFFF
_UNIT = 2.0**-53


def stream(seed: int, name: str) -> int:
    """A 64-bit key for one independent random stream (``name``) of the world with ``seed``."""
    digest = hashlib.blake2b(f"{int(seed)}/{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little")


def _mix(h: np.ndarray) -> np.ndarray:
    # The splitmix64 finaliser: a bijection of uint64 with good avalanche.
    h = h ^ (h >> np.uint64(30))
    h = h * _MIX1
    h = h ^ (h >> np.uint64(27))
    h = h * _MIX2
    return h ^ (h >> np.uint64(31))


def hash_ints(key: int | np.ndarray, *values) -> np.ndarray:
    """A uint64 hash of integer arrays (broadcast together) under ``key`` (a stream key, or an array
    of hashes such as per-object ids)."""
    with np.errstate(over="ignore"):
        h = np.asarray(key & _MASK if isinstance(key, int) else key, dtype=np.uint64)
        for value in values:
            h = _mix(h ^ (np.asarray(value).astype(np.int64).astype(np.uint64) * _GOLDEN))
        return _mix(h + _GOLDEN)


def uniform(key: int | np.ndarray, *values) -> np.ndarray:
    """Floats in [0, 1) hashed from integer arrays (exact: 53 hash bits scaled by 2**-53)."""
    return (hash_ints(key, *values) >> np.uint64(11)).astype(np.float64) * _UNIT


def signed(key: int | np.ndarray, *values) -> np.ndarray:
    """Floats in [-1, 1) hashed from integer arrays."""
    return uniform(key, *values) * 2.0 - 1.0


def draws(hashes: np.ndarray, count: int) -> list[np.ndarray]:
    """``count`` independent floats in (0, 1) per hash, 16 bits each: cheap parameters of one
    object (a building's size, height and roof) from its single id hash."""
    out = []
    with np.errstate(over="ignore"):
        for round_ in range((count + 3) // 4):
            h = _mix(hashes + _GOLDEN * np.uint64(round_ + 1))
            for part in range(4):
                bits = (h >> np.uint64(16 * part)) & np.uint64(0xFFFF)
                out.append((bits.astype(np.float64) + 0.5) / 65536.0)
    return out[:count]


@dataclass(frozen=True)
class CellValues:
    """Values computed once per cell of a square lattice, for the points of a grid.

    Attributes:
        values: name -> (cell rows, cell columns) array.
        row_of, column_of: the cell row of each grid row and the cell column of each grid column.
    """

    values: dict[str, np.ndarray]
    row_of: np.ndarray
    column_of: np.ndarray

    def full(self, name: str) -> np.ndarray:
        """The values of ``name`` at every point of the grid, (rows, columns)."""
        return self.values[name][self.row_of][:, self.column_of]

    def cell(self, rows: np.ndarray, columns: np.ndarray) -> np.ndarray:
        """A small integer naming the cell of each point (``rows``, ``columns``: 1-D index arrays)."""
        return self.row_of[rows] * (int(self.column_of.max()) + 1) + self.column_of[columns]

    def at(self, rows: np.ndarray, columns: np.ndarray) -> dict[str, np.ndarray]:
        """All values at the points (``rows``, ``columns``) of the grid (1-D index arrays)."""
        cell_rows, cell_columns = self.row_of[rows], self.column_of[columns]
        return {name: value[cell_rows, cell_columns] for name, value in self.values.items()}


def per_cell(
    x: np.ndarray, y: np.ndarray, size: float, parameters: Callable[[np.ndarray, np.ndarray], dict]
) -> CellValues:
    """Values per cell of a square lattice (``size`` metres, anchored at the CRS origin) for the grid
    of ``x`` (columns) by ``y`` (rows), metres.

    ``parameters(column, row)`` receives the indices of the cells the grid touches as (1, n) and
    (m, 1) integer arrays and returns named arrays (broadcast to (m, n)).
    """
    columns, column_of = np.unique(np.floor(x / size).astype(np.int64), return_inverse=True)
    rows, row_of = np.unique(np.floor(y / size).astype(np.int64), return_inverse=True)
    shape = (len(rows), len(columns))
    values = parameters(columns[None, :], rows[:, None])
    return CellValues({name: np.broadcast_to(v, shape) for name, v in values.items()}, row_of, column_of)
