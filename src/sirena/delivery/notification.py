"""The Web Push payload for an event: small (push services accept about 4 KB), in the subscriber's language.
Pure: no I/O."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sirena import messages
from sirena.domain.model import EventType, Level, Status
from sirena.domain.notice import LogEvent, Notice, NoticeType
from sirena.protocol.alert_json import dumps, format_time
from sirena.regions import RegionRegistry

MAX_PLAINTEXT = 3993
"""4,096 bytes of one aes128gcm record, less its header (86), padding delimiter (1) and tag (16)."""


def region_names(registry: RegionRegistry, ids: tuple[str, ...], lang: str, shown: int = 3) -> str:
    names = [registry.get(r).name(lang) if r in registry else r for r in ids[:shown]]
    text = ", ".join(names)
    return text + (f" +{len(ids) - shown}" if len(ids) > shown else "")


def notification(event: LogEvent, registry: RegionRegistry, lang: str) -> dict[str, Any]:
    if isinstance(event, Notice):
        return notice_notification(event, registry, lang)
    alert = event.alert
    headline = (
        alert.headline.get(lang) or alert.headline.get("en") or messages.t(f"alert.kind.{alert.kind.value}", lang)
    )
    if event.type is EventType.ENDED:
        title = messages.t("delivery.push.ended", lang, headline=headline)
    elif event.type is EventType.CANCELLED:
        title = messages.t("delivery.push.cancelled", lang, headline=headline)
    else:
        title = headline
    where = region_names(registry, alert.touched_regions, lang)
    instruction = alert.instruction.get(lang) or alert.instruction.get("en") or ""
    shelter = ""
    if alert.time_to_shelter_s is not None and event.type in {EventType.ISSUED, EventType.UPDATED}:
        shelter = messages.t("targeting.tts.short", lang, seconds=alert.time_to_shelter_s)  # first: how long
    body = " · ".join(part for part in (shelter, where, instruction) if part)
    payload: dict[str, Any] = {
        "seq": event.seq,
        "type": event.type.value,
        "alert_id": alert.id,
        "state": alert.state.value,
        "status": alert.status.value,
        "kind": alert.kind.value,
        "level": alert.level.value,
        "threats": [t.type.value for t in alert.threats],
        "regions": list(alert.touched_regions[:50]),
        "title": title,
        "body": body,
        "tag": alert.id,
        "timestamp": format_time(alert.updated_at),
        "lang": lang,
    }
    while len(encode(payload)) > MAX_PLAINTEXT and (payload["regions"] or payload["body"]):
        if payload["regions"]:
            payload["regions"] = payload["regions"][: len(payload["regions"]) // 2]
        else:
            payload["body"] = payload["body"][: len(payload["body"]) // 2]
    return payload


def encode(payload: dict[str, Any]) -> bytes:
    return dumps(payload).encode()


def urgency(event: LogEvent) -> str:
    """RFC 8030 ``Urgency``: high for a real red alert being issued or changed (or a real severe advisory),
    normal otherwise."""
    if isinstance(event, Notice):
        grave = event.body.get("severity") in {"severe", "extreme"} and event.type is not NoticeType.ADVISORY_ENDED
        return "high" if grave and event.reach.status is Status.ACTUAL else "normal"
    live = event.type in {EventType.ISSUED, EventType.UPDATED}
    return "high" if live and event.alert.status is Status.ACTUAL and event.alert.level is Level.RED else "normal"


PUSHED = frozenset({NoticeType.ADVISORY_ISSUED, NoticeType.ADVISORY_UPDATED, NoticeType.ALL_CLEAR})
"""Notices sent as Web Push: advisories and all-clears (situation reports and the coordination line are not)."""


def _text(texts: Any, lang: str) -> str:
    if not isinstance(texts, dict):
        return ""
    return str(texts.get(lang) or texts.get("en") or next(iter(texts.values()), ""))


def notice_notification(notice: Notice, registry: RegionRegistry, lang: str) -> dict[str, Any]:
    """An advisory or all-clear as a push payload: its headline as the title, regions and text as the body."""
    body = notice.body
    regions = notice.reach.regions
    where = region_names(registry, regions, lang) if regions else ""
    payload: dict[str, Any] = {
        "seq": notice.seq,
        "type": notice.type.value,
        "id": str(body.get("id") or body.get("alert_id") or ""),
        "status": notice.reach.status.value,
        "channel": notice.reach.channel,
        "regions": list(regions[:50]),
        "title": _text(body.get("headline"), lang),
        "body": " · ".join(part for part in (where, _text(body.get("text"), lang)) if part),
        # an all-clear replaces its alert's notification on the device (same tag); advisories keep their own
        "tag": str(body["alert_id"])
        if notice.type is NoticeType.ALL_CLEAR and body.get("alert_id")
        else f"{notice.type.family}:{body.get('id') or body.get('alert_id') or notice.seq}",
        "timestamp": format_time(notice.at),
        "lang": lang,
    }
    while len(encode(payload)) > MAX_PLAINTEXT and (payload["regions"] or payload["body"]):
        if payload["regions"]:
            payload["regions"] = payload["regions"][: len(payload["regions"]) // 2]
        else:
            payload["body"] = payload["body"][: len(payload["body"]) // 2]
    return payload


def all_clears_by_alert(events: Sequence[LogEvent]) -> dict[str, Notice]:
    """The all-clears among ``events`` whose alert's end comes before them in ``events``, by alert."""
    ended: set[str] = set()
    found: dict[str, Notice] = {}
    for e in events:
        if not isinstance(e, Notice):
            if e.type is EventType.ENDED:
                ended.add(e.alert.id)
        elif e.type is NoticeType.ALL_CLEAR and str(e.body.get("alert_id")) in ended:
            found[str(e.body["alert_id"])] = e
    return found


def all_clear_of(event: LogEvent, clears: Mapping[str, Notice]) -> Notice | None:
    """For an alert's end, the all-clear committed with it (if it is in ``clears``)."""
    if isinstance(event, Notice) or event.type is not EventType.ENDED:
        return None
    return clears.get(event.alert.id)


def sent_with_its_end(event: LogEvent, clears: Mapping[str, Notice]) -> bool:
    """An all-clear already sent in place of its alert's end."""
    if not isinstance(event, Notice) or event.type is not NoticeType.ALL_CLEAR:
        return False
    return clears.get(str(event.body.get("alert_id"))) is event


def ends_without_its_all_clear(events: Sequence[LogEvent]) -> bool:
    """The last event is an end whose all-clear (if any) would come after it."""
    last = events[-1] if events else None
    return last is not None and not isinstance(last, Notice) and last.type is EventType.ENDED


def with_nearest_shelter(payload: dict[str, Any], lang: str) -> dict[str, Any]:
    """``payload`` whose body also names the nearest shelter of its ``nearby`` member (the line the phone shows),
    when there is one and it still fits in one push message."""
    shelters = (payload.get("nearby") or {}).get("shelters") or []
    if not shelters:
        return payload
    first = shelters[0]
    metres = float(first["distance_m"])
    distance = (
        messages.t("web.shelters.metres", lang, m=round(metres))
        if metres < 1000
        else messages.t("web.shelters.km", lang, km=f"{metres / 1000:.1f}")
    )
    name = first.get("name") or messages.t("web.shelters.unnamed", lang)
    line = messages.t("delivery.push.nearest_shelter", lang, name=name, distance=distance)
    longer = {**payload, "body": f"{payload['body']}\n{line}" if payload.get("body") else line}
    return longer if len(encode(longer)) <= MAX_PLAINTEXT else payload


def topic(event: LogEvent) -> str:
    """RFC 8030 ``Topic`` (at most 32 URL-safe characters): a newer message on the same topic replaces an older one
    not yet delivered."""
    if isinstance(event, Notice):
        return str(event.body.get("id") or event.body.get("alert_id") or event.seq)[:32]
    return event.alert.id[:32]
