"""Sorting grid cells into inside, outside and boundary for an area or a disc, level by level.

A cell is *inside* only when every point it may hold is in the area, *outside* only when none can be, and
*boundary* otherwise; the index tests the points of boundary cells one by one. Both classifiers err towards
*boundary*, never the other way, so the final answer is always the exact one.

Areas: every edge of the geometry is cut into pieces no longer than a cell, and each piece marks the cells its
bounding box (grown by :data:`EPS_UNITS`) touches. An unmarked cell meets no edge, so all of it lies on one
side of the outline and its centre tells which. Going a level down, only the pieces that touch cells being
split are kept and cut again, so the work follows the outline where the points are.

Discs: the great-circle distance from the centre to a cell's centre, plus or minus a bound on how far any
point of the cell can be from the cell's centre, settles the cell unless the circle passes through it.
"""

from __future__ import annotations

import math
from typing import Protocol

import numpy as np
import shapely
from numpy.typing import NDArray

from sirena.geo.grid import LEVELS, Grid
from sirena.geo.sphere import EARTH_RADIUS_M, haversine_m

OUTSIDE = 0
INSIDE = 1
BOUNDARY = 2

EPS_UNITS = 1e-3
"""Margin, in finest-cell units, added around every edge piece: far above rounding, far below a cell."""

DISC_MARGIN_M = 1.0
"""Margin in metres by which a cell must clear the circle to be settled without testing its points."""

_GEOMETRY_TYPES = {"point": 0, "linestring": 1, "linearring": 2, "polygon": 3}

Floats = NDArray[np.float64]
Ints = NDArray[np.int64]


class Cells(Protocol):
    """What the index needs from a query shape."""

    def bounds(self) -> tuple[float, float, float, float] | None:
        """A box in grid units holding every point that can match, or ``None`` when nothing can."""

    def classify(self, level: int, i: Ints, j: Ints) -> NDArray[np.uint8]:
        """OUTSIDE, INSIDE or BOUNDARY for each cell."""

    def refine(self, split: NDArray[np.bool_]) -> None:
        """Get ready to classify the children of the cells just classified where ``split`` is true."""

    def test(self, x: Floats, y: Floats) -> NDArray[np.bool_]:
        """The exact answer for single points (lon, lat)."""


class AreaCells:
    """Cells of a grid against a shapely geometry: a point matches when it is inside or on the boundary."""

    def __init__(self, geometry: shapely.Geometry, grid: Grid) -> None:
        shapely.prepare(geometry)
        self._geometry = geometry
        self._grid = grid
        x1, y1, x2, y2 = _segments(geometry)
        u1, v1 = grid.to_units(x1, y1)
        u2, v2 = grid.to_units(x2, y2)
        self._pieces = _clip(u1, v1, u2, v2, -1.0, float(2**LEVELS) + 1.0)
        self._marked: tuple[Ints, Ints] | None = None

    def bounds(self) -> tuple[float, float, float, float] | None:
        x_min, y_min, x_max, y_max = self._geometry.bounds
        g = self._grid
        top = float(2**LEVELS)
        u0, v0 = (x_min - g.x0) * g.scale_x - 1.0, (y_min - g.y0) * g.scale_y - 1.0
        u1, v1 = (x_max - g.x0) * g.scale_x + 1.0, (y_max - g.y0) * g.scale_y + 1.0
        if u1 < 0.0 or v1 < 0.0 or u0 > top or v0 > top:
            return None
        return u0, v0, u1, v1

    def classify(self, level: int, i: Ints, j: Ints) -> NDArray[np.uint8]:
        size = float(2 ** (LEVELS - level))
        self._pieces = _split(*self._pieces, size)
        piece, key = _marks(*self._pieces, level)
        # Which of the cells asked about each mark falls on (marks on other cells do not matter).
        cell_keys = _key(level, i, j)
        order = np.argsort(cell_keys)
        ranked = cell_keys[order]
        at = np.minimum(np.searchsorted(ranked, key), max(ranked.size - 1, 0))
        hit = ranked[at] == key if ranked.size else np.zeros(key.size, dtype=np.bool_)
        self._marked = (piece[hit], order[at[hit]])
        state = np.full(i.size, BOUNDARY, dtype=np.uint8)
        open_ = np.ones(i.size, dtype=np.bool_)
        open_[self._marked[1]] = False
        if open_.any():
            cx, cy = self._grid.cell_centres(level, i[open_], j[open_])
            state[open_] = np.where(shapely.intersects_xy(self._geometry, cx, cy), INSIDE, OUTSIDE)
        return state

    def refine(self, split: NDArray[np.bool_]) -> None:
        if self._marked is None:
            return
        piece, cell = self._marked
        keep = np.zeros(self._pieces[0].size, dtype=np.bool_)
        keep[piece[split[cell]]] = True
        u1, v1, u2, v2 = self._pieces
        self._pieces = (u1[keep], v1[keep], u2[keep], v2[keep])
        self._marked = None

    def test(self, x: Floats, y: Floats) -> NDArray[np.bool_]:
        result: NDArray[np.bool_] = shapely.intersects_xy(self._geometry, x, y)
        return result


class DiscCells:
    """Cells of a grid against a disc on the sphere: a point matches when its great-circle distance from the
    centre, by :func:`sirena.geo.haversine_m`, is at most the radius."""

    def __init__(self, lat: float, lon: float, radius_m: float, grid: Grid) -> None:
        self._lat = lat
        self._lon = lon
        self._radius = radius_m
        self._grid = grid

    def bounds(self) -> tuple[float, float, float, float] | None:
        g = self._grid
        reach = math.degrees(self._radius / EARTH_RADIUS_M) * (1.0 + 1e-9) + 1e-9
        y_lo, y_hi = self._lat - reach, self._lat + reach
        if y_hi >= 90.0 or y_lo <= -90.0:
            x_lo, x_hi = -180.0, 180.0
        else:
            half = math.degrees(math.asin(min(1.0, math.sin(math.radians(reach)) / math.cos(math.radians(self._lat)))))
            half = half * (1.0 + 1e-9) + 1e-9
            x_lo, x_hi = self._lon - half, self._lon + half
            if x_lo < -180.0 or x_hi > 180.0:
                x_lo, x_hi = -180.0, 180.0
        top = float(2**LEVELS)
        u0, v0 = (x_lo - g.x0) * g.scale_x - 1.0, (y_lo - g.y0) * g.scale_y - 1.0
        u1, v1 = (x_hi - g.x0) * g.scale_x + 1.0, (y_hi - g.y0) * g.scale_y + 1.0
        if u1 < 0.0 or v1 < 0.0 or u0 > top or v0 > top:
            return None
        return u0, v0, u1, v1

    def classify(self, level: int, i: Ints, j: Ints) -> NDArray[np.uint8]:
        cx, cy = self._grid.cell_centres(level, i, j)
        half_w, half_h = (s / 2.0 for s in self._grid.cell_size_deg(level))
        lat_lo = np.maximum(cy - half_h, -90.0)
        lat_hi = np.minimum(cy + half_h, 90.0)
        nearest_equator = np.where((lat_lo <= 0.0) & (lat_hi >= 0.0), 0.0, np.minimum(np.abs(lat_lo), np.abs(lat_hi)))
        # Any point of the cell is reached from its centre by a meridian step then a parallel step.
        spread = EARTH_RADIUS_M * (math.radians(half_h) + np.cos(np.radians(nearest_equator)) * math.radians(half_w))
        spread = spread * (1.0 + 1e-9) + DISC_MARGIN_M
        d = haversine_m(self._lat, self._lon, cy, cx)
        state = np.full(i.size, BOUNDARY, dtype=np.uint8)
        state[d + spread <= self._radius] = INSIDE
        state[d - spread > self._radius] = OUTSIDE
        return state

    def refine(self, split: NDArray[np.bool_]) -> None:
        return None

    def test(self, x: Floats, y: Floats) -> NDArray[np.bool_]:
        result: NDArray[np.bool_] = haversine_m(self._lat, self._lon, y, x) <= self._radius
        return result


def _key(level: int, i: Ints, j: Ints) -> Ints:
    return (i << level) | j


def _segments(geometry: shapely.Geometry) -> tuple[Floats, Floats, Floats, Floats]:
    """Every edge of the geometry's outline as ``(x1, y1, x2, y2)``; a point is an edge of length zero."""
    parts = np.array([geometry])
    while True:
        kinds = shapely.get_type_id(parts)
        if not (kinds > _GEOMETRY_TYPES["polygon"]).any():
            break
        parts = shapely.get_parts(parts)
    parts = parts[~shapely.is_empty(parts)]
    kinds = shapely.get_type_id(parts)
    lines = np.concatenate(
        [shapely.get_rings(parts[kinds == _GEOMETRY_TYPES["polygon"]]), parts[(kinds == 1) | (kinds == 2)]]
    )
    xy, which = shapely.get_coordinates(lines, return_index=True)
    same = which[1:] == which[:-1]
    start, end = xy[:-1][same], xy[1:][same]
    points = shapely.get_coordinates(parts[kinds == _GEOMETRY_TYPES["point"]])
    start = np.concatenate([start, points])
    end = np.concatenate([end, points])
    return start[:, 0], start[:, 1], end[:, 0], end[:, 1]


def _clip(
    u1: Floats, v1: Floats, u2: Floats, v2: Floats, lo: float, hi: float
) -> tuple[Floats, Floats, Floats, Floats]:
    """Segments cut to the square ``[lo, hi]²`` (Liang–Barsky); segments missing it are dropped."""
    du, dv = u2 - u1, v2 - v1
    t0 = np.zeros(u1.size)
    t1 = np.ones(u1.size)
    keep = np.ones(u1.size, dtype=bool)
    with np.errstate(divide="ignore", invalid="ignore"):
        for p, q in ((-du, u1 - lo), (du, hi - u1), (-dv, v1 - lo), (dv, hi - v1)):
            keep &= ~((p == 0.0) & (q < 0.0))
            t = q / p
            t0 = np.where(p < 0.0, np.maximum(t0, t), t0)
            t1 = np.where(p > 0.0, np.minimum(t1, t), t1)
    keep &= t0 <= t1
    u1, v1, du, dv, t0, t1 = u1[keep], v1[keep], du[keep], dv[keep], t0[keep], t1[keep]
    end_u, end_v = u2[keep], v2[keep]
    return (
        np.where(t0 > 0.0, u1 + t0 * du, u1),
        np.where(t0 > 0.0, v1 + t0 * dv, v1),
        np.where(t1 < 1.0, u1 + t1 * du, end_u),
        np.where(t1 < 1.0, v1 + t1 * dv, end_v),
    )


def _split(u1: Floats, v1: Floats, u2: Floats, v2: Floats, size: float) -> tuple[Floats, Floats, Floats, Floats]:
    """Pieces cut into equal parts no longer than ``size`` along either axis."""
    if u1.size == 0:
        return u1, v1, u2, v2
    span = np.maximum(np.abs(u2 - u1), np.abs(v2 - v1))
    parts = np.maximum(np.ceil(span / size), 1.0).astype(np.int64)
    if (parts == 1).all():
        return u1, v1, u2, v2
    which = np.repeat(np.arange(u1.size), parts)
    first = np.cumsum(parts) - parts
    k = np.arange(which.size) - first[which]
    n = parts[which].astype(np.float64)
    t0 = k / n
    t1 = (k + 1) / n
    a_u, a_v, b_u, b_v = u1[which], v1[which], u2[which], v2[which]
    return (
        a_u + t0 * (b_u - a_u),
        a_v + t0 * (b_v - a_v),
        np.where(k + 1 == parts[which], b_u, a_u + t1 * (b_u - a_u)),
        np.where(k + 1 == parts[which], b_v, a_v + t1 * (b_v - a_v)),
    )


def _marks(u1: Floats, v1: Floats, u2: Floats, v2: Floats, level: int) -> tuple[Ints, Ints]:
    """For each piece, the level's cells its box (grown by EPS_UNITS) touches: ``(piece, cell key)`` pairs."""
    size = float(2 ** (LEVELS - level))
    top = 2**level - 1
    i0 = np.maximum(np.floor((np.minimum(u1, u2) - EPS_UNITS) / size), 0).astype(np.int64)
    i1 = np.minimum(np.floor((np.maximum(u1, u2) + EPS_UNITS) / size), top).astype(np.int64)
    j0 = np.maximum(np.floor((np.minimum(v1, v2) - EPS_UNITS) / size), 0).astype(np.int64)
    j1 = np.minimum(np.floor((np.maximum(v1, v2) + EPS_UNITS) / size), top).astype(np.int64)
    ni = np.maximum(i1 - i0 + 1, 0)
    nj = np.maximum(j1 - j0 + 1, 0)
    count = ni * nj
    piece = np.repeat(np.arange(u1.size), count)
    k = np.arange(piece.size) - np.repeat(np.cumsum(count) - count, count)
    width = nj[piece]
    i = i0[piece] + k // np.maximum(width, 1)
    j = j0[piece] + k % np.maximum(width, 1)
    return piece, _key(level, i, j)
