"""The quadtree grid the point index sorts by: a box of the plane, cut in halves ``LEVELS`` times per axis.

A cell at level ``l`` is ``(i, j)`` with ``0 <= i, j < 2**l``. Cells are numbered along the Z-order (Morton)
curve, so every cell at every level owns one contiguous range of the finest-level codes, and points sorted by
code lie cell after cell. All cell arithmetic happens in *grid units*: ``u = (lon - x0) * scale_x``, so that a
finest cell is one unit wide and a level-``l`` cell ``2**(LEVELS - l)`` units wide. Scaling by a power of two
is exact, which keeps a point's cell the same whichever level is asked.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

LEVELS = 20
"""Halvings per axis: the finest cells are ``extent / 2**20``, about 2 m across for a country-sized box."""

MIN_EXTENT_DEG = 0.1
"""The smallest box side in degrees, so the finest cell is never below about 1 cm."""

_M1 = np.uint64(0x0000FFFF0000FFFF)
_M2 = np.uint64(0x00FF00FF00FF00FF)
_M3 = np.uint64(0x0F0F0F0F0F0F0F0F)
_M4 = np.uint64(0x3333333333333333)
_M5 = np.uint64(0x5555555555555555)


def spread_bits(v: NDArray[np.integer]) -> NDArray[np.uint64]:
    """Put bit ``k`` of each value at bit ``2k`` (values below 2**32)."""
    x = v.astype(np.uint64)
    _spread_in_place(x, np.empty_like(x))
    return x


def _spread_in_place(x: NDArray[np.uint64], scratch: NDArray[np.uint64]) -> None:
    for shift, mask in ((16, _M1), (8, _M2), (4, _M3), (2, _M4), (1, _M5)):
        np.left_shift(x, np.uint64(shift), out=scratch)
        x |= scratch
        x &= mask


def morton(i: NDArray[np.integer], j: NDArray[np.integer]) -> NDArray[np.uint64]:
    """The Z-order number of cells ``(i, j)`` within their level."""
    return spread_bits(i) | (spread_bits(j) << np.uint64(1))


@dataclass(frozen=True, slots=True)
class Grid:
    """A box ``[x0, x0 + width] x [y0, y0 + height]`` in lon/lat degrees, cut into ``2**LEVELS`` cells per axis."""

    x0: float
    y0: float
    width: float
    height: float

    @classmethod
    def around(cls, x: NDArray[np.float64], y: NDArray[np.float64]) -> Grid:
        """The grid over the bounding box of the points, widened to :data:`MIN_EXTENT_DEG` where needed."""
        if x.size == 0:
            return cls(-180.0, -90.0, 360.0, 180.0)
        x_lo, x_hi = _widen(float(x.min()), float(x.max()), -180.0, 180.0)
        y_lo, y_hi = _widen(float(y.min()), float(y.max()), -90.0, 90.0)
        return cls(x_lo, y_lo, x_hi - x_lo, y_hi - y_lo)

    @property
    def scale_x(self) -> float:
        return float(2**LEVELS) / self.width

    @property
    def scale_y(self) -> float:
        return float(2**LEVELS) / self.height

    def to_units(
        self, x: NDArray[np.float64], y: NDArray[np.float64]
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Lon/lat degrees to grid units."""
        return (x - self.x0) * self.scale_x, (y - self.y0) * self.scale_y

    def codes(self, x: NDArray[np.float64], y: NDArray[np.float64]) -> NDArray[np.uint64]:
        """The finest-level Z-order code of each point (points on the far edges go to the last cell).

        Works in place as far as it can: for millions of points, fresh memory costs more than arithmetic.
        """
        top = float(2**LEVELS - 1)
        units = np.subtract(x, self.x0)
        units *= self.scale_x
        np.floor(units, out=units)
        np.clip(units, 0.0, top, out=units)
        code = units.astype(np.uint64)
        np.subtract(y, self.y0, out=units)
        units *= self.scale_y
        np.floor(units, out=units)
        np.clip(units, 0.0, top, out=units)
        other = units.astype(np.uint64)
        del units
        scratch = np.empty_like(code)
        _spread_in_place(code, scratch)
        _spread_in_place(other, scratch)
        np.left_shift(other, np.uint64(1), out=scratch)
        code |= scratch
        return code

    def cell_centres(
        self, level: int, i: NDArray[np.int64], j: NDArray[np.int64]
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Centres of level-``level`` cells in lon/lat degrees."""
        size = float(2 ** (LEVELS - level))
        cx = self.x0 + (i.astype(np.float64) + 0.5) * (size / self.scale_x)
        cy = self.y0 + (j.astype(np.float64) + 0.5) * (size / self.scale_y)
        return cx, cy

    def cell_size_deg(self, level: int) -> tuple[float, float]:
        """Width and height of a level-``level`` cell in degrees."""
        return self.width / 2**level, self.height / 2**level

    def cells_covering(self, level: int, u0: float, v0: float, u1: float, v1: float) -> tuple[int, int, int, int]:
        """Inclusive index ranges ``(i0, i1, j0, j1)`` of the level's cells meeting a box given in grid units
        (clipped to the grid; ``i1 < i0`` when the box misses it)."""
        size = float(2 ** (LEVELS - level))
        top = 2**level - 1
        i0 = max(int(np.floor(u0 / size)), 0)
        i1 = min(int(np.floor(u1 / size)), top)
        j0 = max(int(np.floor(v0 / size)), 0)
        j1 = min(int(np.floor(v1 / size)), top)
        return i0, i1, j0, j1


def _widen(lo: float, hi: float, floor: float, ceiling: float) -> tuple[float, float]:
    """``[lo, hi]`` grown symmetrically to at least :data:`MIN_EXTENT_DEG`, kept within ``[floor, ceiling]``."""
    if hi - lo >= MIN_EXTENT_DEG:
        return lo, hi
    mid = (lo + hi) / 2.0
    lo = min(max(floor, mid - MIN_EXTENT_DEG / 2.0), ceiling - MIN_EXTENT_DEG)
    return lo, lo + MIN_EXTENT_DEG
