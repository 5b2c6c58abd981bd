"""Great-circle geometry on a spherical Earth: distances, destinations, unit vectors.

Every distance in :mod:`sirena.geo` is a great-circle distance on a sphere of radius :data:`EARTH_RADIUS_M`
(the IUGG mean radius), computed with the haversine formula. Angles are in degrees, distances in metres.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

EARTH_RADIUS_M = 6_371_008.8
"""Mean Earth radius in metres (IUGG R1), the sphere every distance in :mod:`sirena.geo` is measured on."""

HALF_CIRCUMFERENCE_M = float(np.pi * EARTH_RADIUS_M)
"""The largest possible great-circle distance: from a point to its antipode."""


def haversine_m(lat1: ArrayLike, lon1: ArrayLike, lat2: ArrayLike, lon2: ArrayLike) -> NDArray[np.float64]:
    """Great-circle distance in metres between (lat1, lon1) and (lat2, lon2), in degrees, broadcast like numpy.

    >>> float(haversine_m(50.45, 30.52, 49.84, 24.03)) // 1000  # Kyiv to Lviv, km
    467.0
    """
    p1 = np.radians(np.asarray(lat1, dtype=np.float64))
    p2 = np.radians(np.asarray(lat2, dtype=np.float64))
    dlat = p2 - p1
    dlon = np.radians(np.asarray(lon2, dtype=np.float64) - np.asarray(lon1, dtype=np.float64))
    a = np.sin(dlat * 0.5) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlon * 0.5) ** 2
    result: NDArray[np.float64] = (2.0 * EARTH_RADIUS_M) * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))
    return result


def destination(
    lat: float, lon: float, bearing_rad: NDArray[np.float64], distance_m: float
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Points reached from (lat, lon) along each initial bearing (radians, clockwise from north).

    Returns ``(lat, dlon)`` in degrees, where ``dlon`` is the longitude relative to ``lon`` in [-180, 180]:
    the caller decides how to wrap or unwrap it. Worked with 3-D vectors, so it stays exact next to the poles.
    """
    phi, lam = np.radians(lat), np.radians(lon)
    delta = distance_m / EARTH_RADIUS_M
    here = np.array([np.cos(phi) * np.cos(lam), np.cos(phi) * np.sin(lam), np.sin(phi)])
    north = np.array([-np.sin(phi) * np.cos(lam), -np.sin(phi) * np.sin(lam), np.cos(phi)])
    east = np.array([-np.sin(lam), np.cos(lam), 0.0])
    heading = np.outer(np.cos(bearing_rad), north) + np.outer(np.sin(bearing_rad), east)
    there = here * np.cos(delta) + heading * np.sin(delta)
    lat2 = np.degrees(np.arctan2(there[:, 2], np.hypot(there[:, 0], there[:, 1])))
    # Longitude relative to ``lon``: rotate the point by -lon about the polar axis first.
    x = there[:, 0] * np.cos(lam) + there[:, 1] * np.sin(lam)
    y = there[:, 1] * np.cos(lam) - there[:, 0] * np.sin(lam)
    return lat2, np.degrees(np.arctan2(y, x))


def unit_vectors(lat: ArrayLike, lon: ArrayLike) -> NDArray[np.float64]:
    """Points as rows of 3-D unit vectors (x towards 0°E on the equator, z towards the north pole)."""
    phi = np.radians(np.asarray(lat, dtype=np.float64))
    lam = np.radians(np.asarray(lon, dtype=np.float64))
    cos_phi = np.cos(phi)
    return np.stack([cos_phi * np.cos(lam), cos_phi * np.sin(lam), np.sin(phi)], axis=-1)


def chord_from_m(distance_m: float) -> float:
    """Straight-line distance between two unit vectors that are ``distance_m`` apart on the surface."""
    return float(2.0 * np.sin(min(distance_m, HALF_CIRCUMFERENCE_M) / (2.0 * EARTH_RADIUS_M)))


def m_from_chord(chord: float) -> float:
    """Surface distance in metres between two unit vectors ``chord`` apart (inverse of :func:`chord_from_m`)."""
    return float(2.0 * EARTH_RADIUS_M * np.arcsin(min(max(chord, 0.0) * 0.5, 1.0)))
