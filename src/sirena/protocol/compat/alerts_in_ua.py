"""The alerts.in.ua API v1 shapes: alert records, the list envelope and the IoT status strings. Pure functions.

An alerts.in.ua alert is one location under one alert, so a Sirena alert becomes one record per region it
covers fully (an alert for the whole country becomes one record per oblast-level region). Regions an alert
covers only in part get no record; they show as ``P`` in the IoT strings. Callers pass only ``actual`` alerts.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from sirena.domain.model import Alert, Level
from sirena.domain.state import Coverage, RegionState
from sirena.protocol.alert_json import format_time
from sirena.protocol.compat.locations import OBLAST_ORDER, SLOT_LIMIT, Locations

RECORD_KEYS = (
    "id",
    "location_title",
    "location_title_en",
    "location_type",
    "started_at",
    "finished_at",
    "updated_at",
    "alert_type",
    "location_uid",
    "location_oblast",
    "location_oblast_uid",
    "location_raion",
    "notes",
    "calculated",
    "country",
    "alert_level",
    "threats",
)
"""Every key of an alert record, always present (``null`` when there is no value)."""


def record_id(base: int, slot: int) -> int:
    """A stable integer id for one alert at one location: the alert's base (the sequence number of the event
    that issued it; see ``sirena.store.compat.record_bases`` for imported alerts) times 10,000, plus the
    location's slot (its UID for Ukraine)."""
    return base * SLOT_LIMIT + slot


def _uid_number(region_id: str | None) -> int | None:
    return int(region_id) if region_id is not None and region_id.isdigit() else None


def alert_records(alert: Alert, base: int, locations: Locations, *, estimated: bool = False) -> list[dict[str, Any]]:
    """One alerts.in.ua record per region the alert covers fully. ``estimated``: the end time was estimated
    (``calculated``), as for some alerts imported from history."""
    headline = alert.headline.get("uk") or alert.headline.get("en") or None
    threats = [
        {
            "threat_type": threat.type.value,
            "level": threat.level.value,
            "started_at": format_time(alert.started_at),
            "source_message": headline,
        }
        for threat in alert.threats
    ]
    records = []
    for region_id in locations.expand(alert.regions):
        location = locations.get(region_id)
        records.append(
            {
                "id": record_id(base, location.slot),
                "location_title": location.title,
                "location_title_en": location.title_en,
                "location_type": location.location_type,
                "started_at": format_time(alert.started_at),
                "finished_at": format_time(alert.ended_at),
                "updated_at": format_time(alert.updated_at),
                "alert_type": alert.kind.value,
                "location_uid": location.id,
                "location_oblast": locations.title(location.oblast_id),
                "location_oblast_uid": _uid_number(location.oblast_id),
                "location_raion": locations.title(location.raion_id),
                "notes": alert.instruction.get("uk") or alert.instruction.get("en") or None,
                "calculated": estimated,
                "country": None,
                "alert_level": alert.level.value,
                "threats": [dict(t) for t in threats],
            }
        )
    return records


def records(
    alerts: Iterable[Alert], bases: Mapping[str, int], locations: Locations, estimated: Iterable[str] = ()
) -> list[dict[str, Any]]:
    """Records for many alerts, ordered by id. Alerts without a base in ``bases`` are skipped; those in
    ``estimated`` are ``calculated``."""
    guessed = frozenset(estimated)
    out: list[dict[str, Any]] = []
    for alert in alerts:
        base = bases.get(alert.id)
        if base is not None:
            out.extend(alert_records(alert, base, locations, estimated=alert.id in guessed))
    out.sort(key=lambda r: int(r["id"]))
    return out


def meta_time(value: datetime) -> str:
    """``2026/10/13 07:36:50 +0000``: the ``meta.last_updated_at`` format."""
    return value.astimezone(UTC).strftime("%Y/%m/%d %H:%M:%S +0000")


def envelope(alert_records: list[dict[str, Any]], last_updated: datetime, disclaimer: str) -> dict[str, Any]:
    """The list document every alert endpoint returns."""
    return {
        "alerts": alert_records,
        "meta": {"last_updated_at": meta_time(last_updated), "type": "full"},
        "disclaimer": disclaimer,
    }


def iot_char(state: RegionState | None, *, with_level: bool = False) -> str:
    """``A`` (v2: ``R`` red or ``Y`` yellow) under alert, ``P`` partly, ``N`` none."""
    if state is None or state.state is Coverage.CALM:
        return "N"
    if state.state is Coverage.PARTLY:
        return "P"
    if not with_level:
        return "A"
    return "Y" if state.level is Level.YELLOW else "R"


def iot_string(states: Mapping[str, RegionState], locations: Locations, *, with_level: bool = False) -> str:
    """One character per UID from 0: the region's :func:`iot_char`, or a space where no region has that UID."""
    chars = [" "] * locations.iot_length
    for index in range(locations.iot_length):
        uid = str(index)
        if uid in locations and uid != locations.root_id:
            chars[index] = iot_char(states.get(uid), with_level=with_level)
    return "".join(chars)


def iot_by_oblast(states: Mapping[str, RegionState], *, with_level: bool = False) -> str:
    """27 characters, one per oblast-level region in :data:`OBLAST_ORDER`."""
    return "".join(iot_char(states.get(uid), with_level=with_level) for uid in OBLAST_ORDER)
