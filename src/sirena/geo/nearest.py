"""Nearest points by great-circle distance, e.g. the closest shelters to a subscriber.

Points become 3-D unit vectors, where straight-line (chord) distance grows with great-circle distance. A k-d
split of the vectors groups them into buckets of about ``bucket_size`` points, each with its bounding box. A
query ranks the buckets by the chord distance from the query to their boxes (a lower bound for every point in
them), measures the points of the closest buckets until it has ``k``, and then also every bucket whose bound
does not exceed the k-th distance found: no point outside those buckets can be closer, so the answer is exact.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from sirena.geo import coords
from sirena.geo.sphere import chord_from_m, haversine_m, unit_vectors

_SLACK = 1e-9
"""Relative slack on the chord bound, so rounding can only widen the search."""


class NearestIndex:
    """An immutable index of points (longitudes and latitudes in degrees) for k-nearest queries.

    ``nearest(lat, lon, k)`` returns the positions of the ``k`` points closest to (lat, lon) by
    :func:`sirena.geo.haversine_m`, nearest first (ties by position), and their distances in metres.
    """

    def __init__(self, lon: ArrayLike, lat: ArrayLike, *, bucket_size: int = 128) -> None:
        x, y = coords.lonlat_arrays(lon, lat)
        if bucket_size < 1:
            raise coords.invalid("bucket_size", bucket_size, "a bucket holds at least one point")
        vectors = unit_vectors(y, x)
        order, bounds = _buckets(vectors, int(bucket_size))
        self._ids = order.astype(np.int64)
        self._lon = x[order]
        self._lat = y[order]
        self._starts = bounds[:-1]
        self._ends = bounds[1:]
        self._bucket = int(bucket_size)
        sorted_vectors = vectors[order]
        low = np.minimum.reduceat(sorted_vectors, self._starts, axis=0) if x.size else np.empty((0, 3))
        high = np.maximum.reduceat(sorted_vectors, self._starts, axis=0) if x.size else np.empty((0, 3))
        # Each bucket's box as centre and half-size, the half-size rounded up so the box never shrinks.
        self._centre = (low + high) / 2.0
        self._half = np.maximum(high - self._centre, self._centre - low) * (1.0 + _SLACK)

    def __len__(self) -> int:
        return int(self._ids.size)

    def nearest(self, lat: float, lon: float, k: int = 1) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
        """Positions and distances (metres) of the ``k`` nearest points, nearest first; fewer if there are fewer."""
        lat, lon = coords.point(lat, lon)
        if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 0:
            raise coords.invalid("k", repr(k), "k must be a whole number, zero or more")
        k = min(int(k), len(self))
        if k == 0:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float64)
        q = unit_vectors(lat, lon)
        gap = np.maximum(np.abs(self._centre - q) - self._half, 0.0)
        bound = np.sqrt(np.einsum("ij,ij->i", gap, gap))
        # First the closest few buckets, enough to hold k points, for a k-th distance to beat...
        want = min(bound.size, int(np.ceil(k / self._bucket)) + 1)
        close = np.argpartition(bound, want - 1)[:want] if want < bound.size else np.arange(bound.size)
        first = self._positions(close)
        while first.size < k:  # buckets can be smaller than bucket_size
            want = min(bound.size, want * 2)
            close = np.argpartition(bound, want - 1)[:want] if want < bound.size else np.arange(bound.size)
            first = self._positions(close)
        kth = np.partition(haversine_m(lat, lon, self._lat[first], self._lon[first]), k - 1)[k - 1]
        # ...then every bucket that might hold something closer.
        reach = chord_from_m(float(kth)) * (1.0 + _SLACK) + _SLACK
        candidates = self._positions(np.flatnonzero(bound <= reach))
        distance = haversine_m(lat, lon, self._lat[candidates], self._lon[candidates])
        ids = self._ids[candidates]
        best = np.lexsort((ids, distance))[:k]
        return ids[best], distance[best]

    def _positions(self, buckets: NDArray[np.intp]) -> NDArray[np.int64]:
        starts, ends = self._starts[buckets], self._ends[buckets]
        lengths = ends - starts
        offsets = np.cumsum(lengths) - lengths
        positions: NDArray[np.int64] = np.arange(int(lengths.sum()), dtype=np.int64) + np.repeat(
            starts - offsets, lengths
        )
        return positions


def _buckets(vectors: NDArray[np.float64], size: int) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """An order of the points in which each run between consecutive ``bounds`` is one compact bucket."""
    order = np.arange(vectors.shape[0], dtype=np.int64)
    bounds = [0]
    stack = [(0, vectors.shape[0])]
    while stack:
        lo, hi = stack.pop()
        if hi - lo <= size:
            if hi > lo:
                bounds.append(hi)
            continue
        part = vectors[order[lo:hi]]
        axis = int(np.argmax(part.max(axis=0) - part.min(axis=0)))
        mid = (hi - lo) // 2
        order[lo:hi] = order[lo:hi][np.argpartition(part[:, axis], mid)]
        # Right half first on the stack, so buckets come out left to right.
        stack.append((lo + mid, hi))
        stack.append((lo, lo + mid))
    return order, np.array(sorted(set(bounds)), dtype=np.int64)
