"""Point and area targeting: which subscribed points lie in an alert area, and which are nearest.

Pure functions and immutable indexes over numpy arrays and shapely shapes; see ``docs/geo.md``.

* :class:`PointIndex` answers exactly which points lie in a polygon (or any shapely geometry) or within a
  great-circle radius.
* :class:`NearestIndex` finds the k nearest points by great-circle distance.
* :func:`circle` makes a geodesic circle into a polygon; :func:`normalize` applies the antimeridian rule.
* :func:`haversine_m` measures great-circle distance in metres.
"""

from sirena.geo.antimeridian import normalize
from sirena.geo.circle import CIRCLE_TOLERANCE_M, circle
from sirena.geo.index import PointIndex
from sirena.geo.nearest import NearestIndex
from sirena.geo.sphere import EARTH_RADIUS_M, haversine_m

__all__ = [
    "CIRCLE_TOLERANCE_M",
    "EARTH_RADIUS_M",
    "NearestIndex",
    "PointIndex",
    "circle",
    "haversine_m",
    "normalize",
]
