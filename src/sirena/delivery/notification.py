"""The Web Push payload for an event: small (push services accept about 4 KB), in the subscriber's language.
Pure: no I/O."""

from __future__ import annotations

from typing import Any

from sirena import messages
from sirena.domain.model import Event, EventType, Level, Status
from sirena.protocol.alert_json import dumps, format_time
from sirena.regions import RegionRegistry

MAX_PLAINTEXT = 3993
"""4,096 bytes of one aes128gcm record, less its header (86), padding delimiter (1) and tag (16)."""


def region_names(registry: RegionRegistry, ids: tuple[str, ...], lang: str, shown: int = 3) -> str:
    names = [registry.get(r).name(lang) if r in registry else r for r in ids[:shown]]
    text = ", ".join(names)
    return text + (f" +{len(ids) - shown}" if len(ids) > shown else "")


def notification(event: Event, registry: RegionRegistry, lang: str) -> dict[str, Any]:
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


def urgency(event: Event) -> str:
    """RFC 8030 ``Urgency``: high for a real red alert being issued or changed, normal otherwise."""
    live = event.type in {EventType.ISSUED, EventType.UPDATED}
    return "high" if live and event.alert.status is Status.ACTUAL and event.alert.level is Level.RED else "normal"
