"""Geodesic circles as lon/lat polygons, for maps and for areas that must travel as polygons (CAP, GeoJSON).

To pick the points inside a circle, prefer :meth:`sirena.geo.PointIndex.query_circle`: it measures each
candidate's great-circle distance and needs no polygon at all.
"""

from __future__ import annotations

import numpy as np
import shapely
from numpy.typing import NDArray

from sirena.geo import coords
from sirena.geo.antimeridian import in_plane
from sirena.geo.sphere import EARTH_RADIUS_M, HALF_CIRCUMFERENCE_M, destination, haversine_m

CIRCLE_TOLERANCE_M = 2.0
"""How far, at most, the polygon's edges stray from the true circle (checked at a quarter, half and three
quarters of every edge)."""

_START_VERTICES = 64
_MAX_VERTICES = 200_000


def circle(lat: float, lon: float, radius_km: float) -> shapely.Geometry:
    """The points within ``radius_km`` of (lat, lon) on the sphere, as a Polygon or MultiPolygon.

    Vertices lie on the circle and are added until no edge strays more than :data:`CIRCLE_TOLERANCE_M` from
    it. A circle crossing the antimeridian comes back as a MultiPolygon cut at ±180°; a circle containing a
    pole becomes a cap whose edge runs along that pole's latitude line; a circle containing both poles is
    the whole lon/lat plane minus the circle around the antipode.
    """
    lat, lon = coords.point(lat, lon)
    r = coords.radius_m(radius_km, allow_zero=False)
    if r >= HALF_CIRCUMFERENCE_M:
        return shapely.box(-180.0, -90.0, 180.0, 90.0)
    if _distance_to_pole(lat, 90.0) <= r and _distance_to_pole(lat, -90.0) <= r:
        anti_lon = lon - 180.0 if lon > 0.0 else lon + 180.0
        hole = _one_pole_at_most(-lat, anti_lon, HALF_CIRCUMFERENCE_M - r)
        return shapely.difference(shapely.box(-180.0, -90.0, 180.0, 90.0), hole)
    return _one_pole_at_most(lat, lon, r)


def _one_pole_at_most(lat: float, lon: float, r: float) -> shapely.Geometry:
    """A circle that contains at most one pole strictly inside it."""
    if _distance_to_pole(lat, 90.0) < r or _distance_to_pole(lat, -90.0) < r:
        return in_plane(_ring(lat, lon, r, round_the_globe=True), pole=90.0 if lat >= 0.0 else -90.0)
    return in_plane(_ring(lat, lon, r, round_the_globe=False))


def _distance_to_pole(lat: float, pole: float) -> float:
    return abs(pole - lat) * np.pi / 180.0 * EARTH_RADIUS_M


def _ring(lat: float, lon: float, r: float, *, round_the_globe: bool) -> NDArray[np.float64]:
    """Vertices on the circle by bearing, refined where an edge strays too far from the circle."""
    bearings = np.linspace(0.0, 2.0 * np.pi, _START_VERTICES + 1)
    while True:
        xy = _vertices(lat, lon, r, bearings, round_the_globe)
        rough = np.zeros(bearings.size - 1, dtype=np.bool_)
        for t in (0.25, 0.5, 0.75):
            along = xy[:-1] * (1.0 - t) + xy[1:] * t
            rough |= np.abs(haversine_m(lat, lon, along[:, 1], along[:, 0]) - r) > CIRCLE_TOLERANCE_M
        if not rough.any() or bearings.size > _MAX_VERTICES:
            return xy
        extra = (bearings[:-1][rough] + bearings[1:][rough]) / 2.0
        bearings = np.sort(np.concatenate([bearings, extra]))


def _vertices(
    lat: float, lon: float, r: float, bearings: NDArray[np.float64], round_the_globe: bool
) -> NDArray[np.float64]:
    """Points on the circle at ``bearings`` (from 0 to 2π inclusive) as a closed ring.

    Longitudes are relative to the centre's. A circle with no pole inside never reaches the meridian opposite
    its centre, so they stay within (-180, 180) as they are; a circle around a pole sweeps through all of
    them once, so they are unwrapped and the last vertex lies 360° east or west of the first.
    """
    lats, dlon = destination(lat, lon, bearings, r)
    if round_the_globe:
        dlon = np.degrees(np.unwrap(np.radians(dlon)))
    xy = np.column_stack([lon + dlon, lats])
    xy[-1] = xy[0]
    if round_the_globe:
        xy[-1, 0] += 360.0 if dlon[-1] > dlon[0] else -360.0
    return xy
