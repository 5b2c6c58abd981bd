"""Checking and tidying coordinates given by callers: finite, latitudes in range, longitudes wrapped."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from sirena.errors import ValidationFailed


def invalid(field: str, value: Any, reason: str) -> ValidationFailed:
    """The error for one bad argument, in the ``errors`` shape every validation error uses."""
    shown = value if isinstance(value, str | int | float | bool) else repr(value)[:200]
    return ValidationFailed(errors=[{"field": field, "value": shown, "reason": reason}])


def wrap_lon(lon: NDArray[np.float64]) -> NDArray[np.float64]:
    """Longitudes outside [-180, 180] moved into [-180, 180); values already inside are left exactly as given."""
    outside = np.abs(lon) > 180.0
    if not outside.any():
        return lon
    wrapped = lon.copy()
    wrapped[outside] = np.mod(lon[outside] + 180.0, 360.0) - 180.0
    return wrapped


def lonlat_arrays(lon: ArrayLike, lat: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Two equal-length 1-D float64 arrays (copies), checked and with longitudes wrapped into [-180, 180]."""
    x = np.array(lon, dtype=np.float64, copy=True)
    y = np.array(lat, dtype=np.float64, copy=True)
    if x.ndim != 1 or y.ndim != 1:
        raise invalid("lon/lat", f"shapes {x.shape} and {y.shape}", "longitudes and latitudes must be 1-D arrays")
    if x.shape != y.shape:
        raise invalid("lon/lat", f"lengths {x.size} and {y.size}", "as many longitudes as latitudes are needed")
    if not np.isfinite(x).all():
        raise invalid("lon", int(np.flatnonzero(~np.isfinite(x))[0]), "every longitude must be a finite number")
    if not (np.isfinite(y).all() and (np.abs(y) <= 90.0).all()):
        bad = int(np.flatnonzero(~(np.abs(y) <= 90.0))[0])
        raise invalid("lat", bad, "every latitude must be a number between -90 and 90")
    return wrap_lon(x), y


def point(lat: float, lon: float) -> tuple[float, float]:
    """One checked (lat, lon) pair, longitude wrapped into [-180, 180]."""
    try:
        la, lo = float(lat), float(lon)
    except (TypeError, ValueError):
        raise invalid("lat/lon", f"{lat!r}, {lon!r}", "latitude and longitude must be numbers") from None
    if not -90.0 <= la <= 90.0:
        raise invalid("lat", la, "latitude must be between -90 and 90")
    if not np.isfinite(lo):
        raise invalid("lon", lo, "longitude must be a finite number")
    if abs(lo) > 180.0:
        lo = float(np.mod(lo + 180.0, 360.0) - 180.0)
    return la, lo


def radius_m(radius_km: float, *, allow_zero: bool) -> float:
    """A checked radius, converted from kilometres to metres."""
    try:
        r = float(radius_km)
    except (TypeError, ValueError):
        raise invalid("radius_km", repr(radius_km), "the radius must be a number of kilometres") from None
    if not np.isfinite(r) or r < 0.0 or (r == 0.0 and not allow_zero):
        raise invalid("radius_km", r, "the radius must be a positive number of kilometres")
    return r * 1000.0
