"""Shapes of the two Ukrainian alert APIs Sirena serves drop-in: alerts.in.ua v1 and ukrainealarm.com v3.

Pure functions from Sirena's alerts and derived region states to JSON-ready values; no I/O. The HTTP adapters
are ``sirena.web.routes.compat_alerts_in_ua`` and ``sirena.web.routes.compat_ukrainealarm``.
"""

from sirena.protocol.compat import alerts_in_ua, ukrainealarm
from sirena.protocol.compat.locations import IOT_MIN_LENGTH, OBLAST_ORDER, Location, Locations

__all__ = ["IOT_MIN_LENGTH", "OBLAST_ORDER", "Location", "Locations", "alerts_in_ua", "ukrainealarm"]
