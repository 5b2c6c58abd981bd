"""The exact point index: which subscribed points lie in an alert area.

Points are sorted along the Z-order curve of a fixed quadtree grid (:mod:`sirena.geo.grid`), so every cell at
every level is one contiguous slice of the sorted arrays. A query walks the quadtree from a level where the
area's bounding box spans a few cells: cells wholly inside the area are accepted as slices without looking at
their points, cells wholly outside are dropped, and boundary cells are split until they hold few points; then
those points, and only those, are tested exactly (:mod:`sirena.geo.cells`). Empty cells cost one lookup.
"""

from __future__ import annotations

import math

import numpy as np
import shapely
from numpy.typing import ArrayLike, NDArray

from sirena.geo import coords
from sirena.geo.antimeridian import normalize
from sirena.geo.cells import BOUNDARY, INSIDE, AreaCells, Cells, DiscCells
from sirena.geo.grid import LEVELS, Grid, morton

Ids = NDArray[np.int64]

_TABLE_LEVEL_MAX = 12
"""The deepest level given a dense table of slices (4**12 entries, 64 MiB, reached at about 130 million points)."""

_START_CELLS = 64
"""The walk starts at the deepest level where the query's bounding box meets at most this many cells."""


class PointIndex:
    """An immutable index of points given as longitudes and latitudes in degrees (WGS 84).

    ``query(geometry)`` returns the positions, in the arrays given here, of the points inside the geometry or
    on its boundary, exactly as ``numpy.flatnonzero(shapely.intersects_xy(normalize(geometry), lon, lat))``
    would, only without looking at most points. ``query_circle(lat, lon, radius_km)`` returns the points whose
    great-circle distance from the centre is at most the radius.

    Longitudes outside [-180, 180] are wrapped into it; non-finite values and latitudes outside [-90, 90] are
    refused with :class:`sirena.errors.ValidationFailed`. ``leaf_size`` is how many points a boundary cell may
    hold before it is split rather than tested point by point.
    """

    def __init__(self, lon: ArrayLike, lat: ArrayLike, *, leaf_size: int = 96) -> None:
        x, y = coords.lonlat_arrays(lon, lat)
        if leaf_size < 1:
            raise coords.invalid("leaf_size", leaf_size, "a leaf holds at least one point")
        self._leaf = int(leaf_size)
        self._grid = Grid.around(x, y)
        self._codes, order = _sorted_codes(self._grid.codes(x, y))
        self._x = x[order]
        self._y = y[order]
        self._ids = order.astype(np.int32) if x.size < 2**31 else order
        del order
        # A dense table of slice starts for one level, so shallow cells need no search.
        self._table_level = min(_TABLE_LEVEL_MAX, max(0, math.ceil(math.log(max(x.size, 1) / 8.0, 4))))
        shift = np.uint64(2 * (LEVELS - self._table_level))
        counts = np.bincount((self._codes >> shift).astype(np.int64), minlength=4**self._table_level)
        table = np.zeros(counts.size + 1, dtype=np.int64)
        np.cumsum(counts, out=table[1:])
        self._table = table.astype(np.int32) if x.size < 2**31 else table

    def __len__(self) -> int:
        return int(self._x.size)

    @property
    def nbytes(self) -> int:
        """Memory held by the index's arrays, in bytes."""
        arrays = (self._codes, self._x, self._y, self._ids, self._table)
        return sum(int(a.nbytes) for a in arrays)

    def query(self, geometry: shapely.Geometry) -> Ids:
        """Sorted positions of the points inside ``geometry`` or on its boundary.

        The geometry is first passed through :func:`sirena.geo.normalize`, so polygons crossing the
        antimeridian or enclosing a pole mean what they say on the globe. Any geometry type works; an empty
        geometry matches nothing.
        """
        area = normalize(geometry)
        if area.is_empty or not len(self):
            return np.empty(0, dtype=np.int64)
        return self._search(AreaCells(area, self._grid))

    def query_circle(self, lat: float, lon: float, radius_km: float) -> Ids:
        """Sorted positions of the points within ``radius_km`` of (lat, lon) by great-circle distance.

        Exact: a point matches when ``haversine_m(lat, lon, its_lat, its_lon) <= radius_km * 1000``.
        """
        lat, lon = coords.point(lat, lon)
        r = coords.radius_m(radius_km, allow_zero=True)
        if not len(self):
            return np.empty(0, dtype=np.int64)
        return self._search(DiscCells(lat, lon, r, self._grid))

    def _search(self, cells: Cells) -> Ids:
        box = cells.bounds()
        if box is None:
            return np.empty(0, dtype=np.int64)
        level, i, j = self._start(*box)
        accepted: list[tuple[Ids, Ids]] = []
        tested: list[tuple[Ids, Ids]] = []
        while i.size:
            start, end = self._slices(level, i, j)
            full = end > start
            i, j, start, end = i[full], j[full], start[full], end[full]
            if not i.size:
                break
            state = cells.classify(level, i, j)
            inside = state == INSIDE
            accepted.append((start[inside], end[inside]))
            boundary = state == BOUNDARY
            if level == LEVELS:
                tested.append((start[boundary], end[boundary]))
                break
            small = boundary & (end - start <= self._leaf)
            tested.append((start[small], end[small]))
            split = boundary & ~small
            if not split.any():
                break
            cells.refine(split)
            i, j = i[split], j[split]
            i = ((i << 1)[:, None] + np.array([0, 1, 0, 1])).ravel()
            j = ((j << 1)[:, None] + np.array([0, 0, 1, 1])).ravel()
            level += 1
        return self._collect(accepted, tested, cells)

    def _start(self, u0: float, v0: float, u1: float, v1: float) -> tuple[int, Ids, Ids]:
        """The deepest level where the box meets at most ``_START_CELLS`` cells, and those cells."""
        level = 0
        while level < LEVELS:
            i0, i1, j0, j1 = self._grid.cells_covering(level + 1, u0, v0, u1, v1)
            if (i1 - i0 + 1) * (j1 - j0 + 1) > _START_CELLS:
                break
            level += 1
        i0, i1, j0, j1 = self._grid.cells_covering(level, u0, v0, u1, v1)
        ii, jj = np.meshgrid(np.arange(i0, i1 + 1), np.arange(j0, j1 + 1), indexing="ij")
        return level, ii.ravel().astype(np.int64), jj.ravel().astype(np.int64)

    def _slices(self, level: int, i: Ids, j: Ids) -> tuple[Ids, Ids]:
        """Where each cell's points start and end in the sorted arrays."""
        m = morton(i, j)
        if level <= self._table_level:
            shift = np.uint64(2 * (self._table_level - level))
            first = (m << shift).astype(np.int64)
            last = ((m + np.uint64(1)) << shift).astype(np.int64)
            return self._table[first].astype(np.int64), self._table[last].astype(np.int64)
        shift = np.uint64(2 * (LEVELS - level))
        start = np.searchsorted(self._codes, m << shift)
        end = np.searchsorted(self._codes, (m + np.uint64(1)) << shift)
        return start.astype(np.int64), end.astype(np.int64)

    def _collect(self, accepted: list[tuple[Ids, Ids]], tested: list[tuple[Ids, Ids]], cells: Cells) -> Ids:
        """Original positions, sorted, of the accepted slices and the tested points that pass."""
        starts, ends = _joined(accepted)
        candidates = _expand(*_joined(tested))
        hits = candidates[cells.test(self._x[candidates], self._y[candidates])]
        n = len(self)
        found = int((ends - starts).sum()) + hits.size
        if found <= n // 8:
            result = self._ids[np.concatenate([_expand(starts, ends), hits])]
            result.sort()
            small: Ids = result.astype(np.int64, copy=False)
            return small
        # Big answers: a mask in input order, read off in order. Setting it costs a random write per point,
        # so when most points match, the mask starts full and the few that do not are cleared instead.
        if found <= n // 2:
            mask = np.zeros(n, dtype=np.bool_)
            mask[self._ids[_expand(starts, ends)]] = True
            mask[self._ids[hits]] = True
        else:
            order = np.argsort(starts)
            starts, ends = starts[order], ends[order]
            gaps = _expand(np.concatenate([[0], ends]), np.concatenate([starts, [n]]))
            hits.sort()
            missed = np.ones(gaps.size, dtype=np.bool_)
            missed[np.searchsorted(gaps, hits)] = False
            mask = np.ones(n, dtype=np.bool_)
            mask[self._ids[gaps[missed]]] = False
        found_ids: Ids = np.flatnonzero(mask).astype(np.int64, copy=False)
        return found_ids


def _sorted_codes(codes: NDArray[np.uint64]) -> tuple[NDArray[np.uint64], Ids]:
    """The codes sorted (in place), and the sorting order (stable: equal codes keep their input order).

    Sorting values is several times faster than ``argsort``, so when the code and the position fit together in
    64 bits they are packed into one key, sorted, and unpacked.
    """
    position_bits = max(1, (codes.size - 1).bit_length())
    if position_bits + 2 * LEVELS > 64:
        by_code: Ids = np.argsort(codes, kind="stable").astype(np.int64, copy=False)
        return codes[by_code], by_code
    keys = codes  # packed in place: the caller's codes are not needed afterwards
    keys <<= np.uint64(position_bits)
    keys |= np.arange(codes.size, dtype=np.uint64)
    keys.sort()
    positions = keys & np.uint64(2**position_bits - 1)
    keys >>= np.uint64(position_bits)
    return keys, positions.view(np.int64)


def _joined(slices: list[tuple[Ids, Ids]]) -> tuple[Ids, Ids]:
    if not slices:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    return np.concatenate([s for s, _ in slices]), np.concatenate([e for _, e in slices])


def _expand(starts: Ids, ends: Ids) -> Ids:
    """All positions in the half-open slices ``[start, end)``, slice after slice."""
    lengths = ends - starts
    total = int(lengths.sum())
    if total == 0:
        return np.empty(0, dtype=np.int64)
    offsets = np.cumsum(lengths) - lengths
    positions: Ids = np.arange(total, dtype=np.int64) + np.repeat(starts - offsets, lengths)
    return positions
