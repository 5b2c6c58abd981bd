"""Targeting: subscribers' places, exact matching of alerts to them, and time to shelter.

* :class:`PlaceRegistry` stores places (points resolved to their regions at registration, or whole regions)
  and answers ``await registry.match(alert)`` with the subscriber ids the alert reaches, exactly: by geometry
  for polygon and circle alerts, by region membership (ancestors and descendants included) for region alerts.
* :class:`AlertArea` is the same rule for a few points, without a store (one device, one subscription).
* :class:`RegionClosure` gives the regions an alert affects; :class:`PointResolver` the regions of a point.
* :class:`TimeToShelter` is the per-region table that fills ``time_to_shelter_s``.

See ``docs/targeting.md``.
"""

from sirena.targeting.area import AlertArea
from sirena.targeting.closure import RegionClosure
from sirena.targeting.index import PlaceColumns, PlaceIndex
from sirena.targeting.place import Place, PlaceKind
from sirena.targeting.registry import (
    MAX_PLACES_PER_SUBSCRIBER,
    PlaceNotFound,
    PlaceRegistry,
    TooManyPlaces,
    new_subscriber_id,
    place_json,
)
from sirena.targeting.resolve import DEFAULT_MARGIN_M, PointResolver, Resolution
from sirena.targeting.shelter_time import TimeToShelter

__all__ = [
    "DEFAULT_MARGIN_M",
    "MAX_PLACES_PER_SUBSCRIBER",
    "AlertArea",
    "Place",
    "PlaceColumns",
    "PlaceIndex",
    "PlaceKind",
    "PlaceNotFound",
    "PlaceRegistry",
    "PointResolver",
    "RegionClosure",
    "Resolution",
    "TimeToShelter",
    "TooManyPlaces",
    "new_subscriber_id",
    "place_json",
]
