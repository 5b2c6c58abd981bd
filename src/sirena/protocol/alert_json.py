"""Sirena's native JSON shape for alerts and events, both ways.

Times are UTC ISO 8601 with milliseconds and a ``Z`` (``2026-10-13T07:36:50.000Z``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import orjson

from sirena.domain.model import (
    Alert,
    AlertState,
    Circle,
    Event,
    EventType,
    Kind,
    Level,
    Source,
    Status,
    Target,
    Threat,
    ThreatType,
)
from sirena.domain.notice import LogEvent, Notice, NoticeType

_FORMATTED: dict[datetime, str] = {}
"""Recently formatted UTC times: the alerts of a batch (and an alert's start and last change) share them."""
_FORMATTED_LIMIT = 256


def format_time(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is not UTC:
        return _format_time(value)
    text = _FORMATTED.get(value)
    if text is None:
        if len(_FORMATTED) >= _FORMATTED_LIMIT:
            _FORMATTED.clear()
        text = _FORMATTED[value] = _format_time(value)
    return text


def _format_time(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def parse_time(value: str | None) -> datetime | None:
    if value is None:
        return None
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def alert_to_dict(alert: Alert) -> dict[str, Any]:
    return {
        "id": alert.id,
        "version": alert.version,
        "state": alert.state.value,
        "status": alert.status.value,
        "kind": alert.kind.value,
        "level": alert.level.value,
        "threats": [{"type": t.type.value, "level": t.level.value} for t in alert.threats],
        "regions": list(alert.regions),
        "partial_regions": list(alert.partial_regions),
        "area": dict(alert.target.area) if alert.target.area is not None else None,
        "circle": (
            {
                "lat": alert.target.circle.lat,
                "lon": alert.target.circle.lon,
                "radius_km": alert.target.circle.radius_km,
            }
            if alert.target.circle is not None
            else None
        ),
        "targets_regions": list(alert.target.regions),
        "headline": dict(alert.headline),
        "instruction": dict(alert.instruction),
        "time_to_shelter_s": alert.time_to_shelter_s,
        "issuer": alert.issuer,
        "source": alert.source.value,
        "started_at": format_time(alert.started_at),
        "updated_at": format_time(alert.updated_at),
        "ended_at": format_time(alert.ended_at),
        "expires_at": format_time(alert.expires_at),
    }


def alert_from_dict(data: Mapping[str, Any]) -> Alert:
    circle = data.get("circle")
    started = parse_time(data["started_at"])
    updated = parse_time(data["updated_at"])
    assert started is not None
    assert updated is not None
    return Alert(
        id=data["id"],
        version=int(data["version"]),
        state=AlertState(data["state"]),
        status=Status(data["status"]),
        kind=Kind(data["kind"]),
        level=Level(data["level"]),
        threats=tuple(Threat(ThreatType(t["type"]), Level(t["level"])) for t in data.get("threats", ())),
        regions=tuple(data.get("regions", ())),
        partial_regions=tuple(data.get("partial_regions", ())),
        target=Target(
            regions=tuple(data.get("targets_regions", ())),
            area=data.get("area"),
            circle=Circle(float(circle["lat"]), float(circle["lon"]), float(circle["radius_km"])) if circle else None,
        ),
        headline=dict(data.get("headline") or {}),
        instruction=dict(data.get("instruction") or {}),
        time_to_shelter_s=data.get("time_to_shelter_s"),
        issuer=data.get("issuer", "system"),
        source=Source(data.get("source", "sirena")),
        started_at=started,
        updated_at=updated,
        ended_at=parse_time(data.get("ended_at")),
        expires_at=parse_time(data.get("expires_at")),
    )


def event_to_dict(event: LogEvent) -> dict[str, Any]:
    """The ``{"seq", "type", "alert"}`` object sent on every live channel; a notice is ``{"seq", "type", "at",
    <member>}`` with its payload under ``advisory``, ``report``, ``all_clear`` or ``message``."""
    if isinstance(event, Notice):
        return {"seq": event.seq, "type": event.type.value, "at": format_time(event.at), event.member: event.body}
    return {"seq": event.seq, "type": event.type.value, "alert": alert_to_dict(event.alert)}


def event_from_dict(data: Mapping[str, Any], *, at: datetime | None = None) -> Event:
    alert = alert_from_dict(data["alert"])
    return Event(seq=int(data["seq"]), type=EventType(data["type"]), alert=alert, at=at or alert.updated_at)


def log_event_from_dict(data: Mapping[str, Any], *, at: datetime | None = None) -> LogEvent:
    """An alert event or a notice, as :func:`event_to_dict` wrote it."""
    if "alert" in data:
        return event_from_dict(data, at=at)
    kind = NoticeType(data["type"])
    moment = at or parse_time(data.get("at"))
    assert moment is not None
    return Notice(seq=int(data["seq"]), type=kind, at=moment, body=dict(data[kind.member]))


_OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
"""Times and dataclasses are not JSON here: they go to the standard library's encoder, which refuses them (a time
is written by :func:`format_time`, a dataclass by its own ``*_to_dict``)."""


_FALLBACK = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def dumps(value: Any) -> str:
    """Compact JSON with non-ASCII text kept as it is (UTF-8, not ``\\u`` escapes): the encoding of alerts and
    events in the store, the event log and the live channels (SSE, WebSocket, the bus, MQTT, webhooks). Encoded by
    orjson, about a fifth of the standard library's time for an alert, which every write and every live channel
    pays. What orjson refuses but JSON can still say (an integer past 64 bits, a lone surrogate, which goes out as
    a ``\\u`` escape) is encoded by the standard library."""
    try:
        return orjson.dumps(value, option=_OPTIONS).decode()
    except TypeError:
        return _FALLBACK.encode(value).encode("utf-8", "backslashreplace").decode("utf-8")
