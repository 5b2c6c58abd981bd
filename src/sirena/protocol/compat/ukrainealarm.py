"""The ukrainealarm.com API v3 shapes: ``AlertRegionModel``, the region tree, region history. Pure functions.

A region's record lists every active alert that puts it under alert: alerts for the region itself and those
inherited from its raion, oblast or the whole country. Each listed alert names the region it was issued for
(``regionId``); an alert for the whole country is listed under the oblast-level region, since the API has no
country record. Callers pass only ``actual`` alerts.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sirena import messages
from sirena.domain.model import Alert, Kind, Level
from sirena.protocol.alert_json import format_time
from sirena.protocol.compat.locations import Locations

ALERT_TYPES: Mapping[Kind, str] = {
    Kind.AIR_RAID: "AIR",
    Kind.ARTILLERY_SHELLING: "ARTILLERY",
    Kind.URBAN_FIGHTS: "URBAN_FIGHTS",
    Kind.CHEMICAL: "CHEMICAL",
    Kind.NUCLEAR: "NUCLEAR",
}
"""Sirena's kind → the API's ``type``. The API's ``UNKNOWN`` has no Sirena kind and is never produced."""

LEVELS: Mapping[Level, str] = {Level.RED: "Red", Level.YELLOW: "Yellow"}
HISTORY_LENGTH = 25
NEVER = "1970-01-01T00:00:00.000Z"
"""``lastUpdate`` of a region that no alert has ever covered."""

Targets = Mapping[str, Sequence[Alert]]
"""Region id → the active alerts issued for that region (see :func:`targets`)."""


def targets(alerts: Iterable[Alert]) -> dict[str, list[Alert]]:
    """Index active alerts by each region they cover fully."""
    index: dict[str, list[Alert]] = {}
    for alert in alerts:
        if alert.is_active:
            for region_id in alert.regions:
                index.setdefault(region_id, []).append(alert)
    return index


def alert_type(alert: Alert) -> str:
    return ALERT_TYPES.get(alert.kind, "UNKNOWN")


def alert_levels(alert: Alert) -> list[dict[str, Any]]:
    """``activeAlertLevels``: one entry per level among the alert's threats (red first) with the threats named
    in Ukrainian as the ``reason``; an alert without threats has one entry at its own level and no reason."""
    by_level: dict[Level, list[str]] = {}
    for threat in alert.threats:
        by_level.setdefault(threat.level, []).append(messages.t(f"alert.threat.{threat.type.value}", "uk"))
    if not by_level:
        by_level[alert.level] = []
    created = format_time(alert.started_at)
    return [
        {"alertLevel": LEVELS[level], "reason": ", ".join(dict.fromkeys(by_level[level])), "createdAt": created}
        for level in (Level.RED, Level.YELLOW)
        if level in by_level
    ]


def _covering_alerts(region_id: str, index: Targets, locations: Locations) -> list[tuple[str, Alert]]:
    """(region the alert was issued for, alert) for every active alert covering the region, each alert once,
    under the nearest region it was issued for."""
    found: dict[str, tuple[str, Alert]] = {}
    location = locations.get(region_id)
    for covering in locations.covering(region_id):
        for alert in index.get(covering, ()):
            if alert.id not in found:
                named = location.oblast_id if covering == locations.root_id else covering
                found[alert.id] = (named or region_id, alert)
    return sorted(found.values(), key=lambda pair: (pair[1].started_at, pair[1].id))


def region_model(
    region_id: str, index: Targets, locations: Locations, last_update: str | None = None
) -> dict[str, Any]:
    """The ``AlertRegionModel`` of one region. ``lastUpdate`` is the latest change among its active alerts;
    when it has none, ``last_update`` (or :data:`NEVER`)."""
    location = locations.get(region_id)
    covering = _covering_alerts(region_id, index, locations)
    active = [
        {
            "regionId": named,
            "regionType": locations.get(named).region_type,
            "type": alert_type(alert),
            "lastUpdate": format_time(alert.updated_at),
            "activeAlertLevels": alert_levels(alert),
        }
        for named, alert in covering
    ]
    latest = format_time(max(a.updated_at for _, a in covering)) if covering else None
    return {
        "regionId": location.id,
        "regionType": location.region_type,
        "regionName": location.title,
        "regionEngName": location.title_en,
        "lastUpdate": latest or last_update or NEVER,
        "activeAlerts": active,
    }


def active_region_models(index: Targets, locations: Locations) -> list[dict[str, Any]]:
    """``GET /api/v3/alerts``: a record for every region an active alert was issued for (the whole country as
    its oblast-level regions), each listing its own and its inherited alerts, ordered by region id."""
    regions = locations.expand(index)
    regions.sort(key=lambda r: (locations.get(r).slot, r))
    return [region_model(region_id, index, locations) for region_id in regions]


def webhook_payloads(changed: Alert, index: Targets, locations: Locations) -> list[dict[str, Any]]:
    """What a webhook receives when ``changed`` is issued, updated, ended or cancelled: the
    ``AlertRegionModel`` of each region the alert was issued for, as it stands after the change (``index``
    holds the active alerts after it)."""
    updated = format_time(changed.updated_at)
    return [region_model(r, index, locations, updated) for r in locations.expand(changed.regions)]


def regions_tree(locations: Locations) -> dict[str, Any]:
    """``GET /api/v3/regions``: ``{"states": [...]}`` with children nested in ``regionChildIds``."""
    registry = locations.registry

    def node(region_id: str) -> dict[str, Any]:
        location = locations.get(region_id)
        return {
            "regionId": location.id,
            "regionName": location.title,
            "regionType": location.region_type,
            "regionChildIds": [node(child) for child in registry.get(region_id).children],
        }

    return {"states": [node(state) for state in locations.states()]}


def timespan(seconds: float) -> str:
    """A duration in .NET ``TimeSpan`` form: ``hh:mm:ss``, or ``d.hh:mm:ss`` from one day on."""
    total = max(int(seconds), 0)
    days, rest = divmod(total, 86_400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    clock = f"{hours:02d}:{minutes:02d}:{secs:02d}"
    return f"{days}.{clock}" if days else clock


def region_history(
    region_id: str, alerts: Iterable[Alert], locations: Locations, now: datetime
) -> list[dict[str, Any]]:
    """``GET /api/v3/alerts/regionHistory``: the last 25 alerts that put the region under alert (its own and
    inherited ones), newest first. An alert still running has ``isContinue: true`` and ends ``now``."""
    covering = set(locations.covering(region_id))
    alarms = []
    chosen = sorted(
        (a for a in alerts if covering.intersection(a.regions)), key=lambda a: (a.started_at, a.id), reverse=True
    )
    for alert in chosen[:HISTORY_LENGTH]:
        named = next(r for r in locations.covering(region_id) if r in alert.regions)
        if named == locations.root_id:
            named = locations.get(region_id).oblast_id or region_id
        end = alert.ended_at or now
        alarms.append(
            {
                "regionId": named,
                "regionName": locations.get(named).title,
                "startDate": format_time(alert.started_at),
                "endDate": format_time(end),
                "duration": timespan((end - alert.started_at).total_seconds()),
                "alertType": alert_type(alert),
                "isContinue": alert.is_active,
            }
        )
    location = locations.get(region_id)
    return [{"regionId": location.id, "regionName": location.title, "alarms": alarms}]
