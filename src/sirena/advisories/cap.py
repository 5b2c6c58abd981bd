"""Advisories, reports, all-clears and coordination messages as CAP 1.2, and CAP ``Ack`` read back.

Identifiers follow the alerts' convention (``urn:sirena:<sender>:…``):

| record | identifier | msgType | scope |
|---|---|---|---|
| advisory, each version | ``urn:sirena:<sender>:advisory:<id>:<version>`` | ``Alert`` (version 1), ``Update``, ``Cancel`` (ended) | ``Public``, or ``Restricted`` for a channel |
| situation report | ``urn:sirena:<sender>:report:<id>`` | ``Alert`` referencing the alert's version | ``Public`` |
| all-clear | ``urn:sirena:<sender>:all-clear:<alert id>`` | ``Update`` of the alert's chain, ``responseType`` ``AllClear`` | ``Public`` |
| coordination message | ``urn:sirena:<sender>:coordination:<id>`` | ``Alert``; the addressee answers ``Ack`` | ``Private`` with ``addresses`` |
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sirena import messages
from sirena.advisories.text import report_headline
from sirena.cap import convention as c
from sirena.cap.areas import RegionAreas
from sirena.cap.outbound import references_of, sent_of
from sirena.domain.model import Status
from sirena.errors import ValidationFailed
from sirena.messages import Phrase
from sirena.protocol.alert_json import parse_time
from sirena.protocol.cap import ingest
from sirena.protocol.cap.atom import Entry, Link
from sirena.protocol.cap.model import CapInfo, CapMessage, NamedValue, Reference
from sirena.protocol.cap.timestamps import format_timestamp
from sirena.protocol.cap.vocabulary import MIME_CAP_XML

EVENT_CODE_ADVISORY = "sirena:advisory"
EVENT_CODE_REPORT = "sirena:report"
PARAM_CHANNEL = "sirena:channel"
PARAM_THREAT = "sirena:threat"
PARAM_COUNT = "sirena:count"
PARAM_HEADING = "sirena:heading_deg"
PARAM_TARGET_REGION = "sirena:target_region"
PARAM_OBSERVED_AT = "sirena:observed_at"
PARAM_ALERT = "sirena:alert_id"

#: advisory type → (category, responseType, urgency, certainty)
ADVISORY_CAP: Mapping[str, tuple[str, str, str, str]] = {
    "closure": ("Safety", "Avoid", "Expected", "Observed"),
    "shelter_readiness": ("Security", "Prepare", "Expected", "Possible"),
    "travel": ("Transport", "Monitor", "Future", "Observed"),
    "pre_alert": ("Security", "Prepare", "Expected", "Likely"),
    "all_clear": ("Security", "AllClear", "Past", "Observed"),
    "info": ("Other", "Monitor", "Unknown", "Unknown"),
}


def _time(text: Any) -> datetime:
    moment = parse_time(str(text)) if text else None
    return sent_of(moment or datetime(2000, 1, 1, tzinfo=UTC))


def _languages(*texts: Mapping[str, str]) -> tuple[str, ...]:
    found: list[str] = []
    for mapping in texts:
        for lang in mapping:
            if lang not in found:
                found.append(lang)
    return tuple(found) or messages.LANGUAGES


def advisory_identifier(sender: str, advisory_id: str, version: int) -> str:
    return f"{c.URN_PREFIX}{sender}:advisory:{advisory_id}:{version}"


def advisory_to_cap(
    advisory: Mapping[str, Any],
    *,
    sender: str,
    areas: RegionAreas,
    earlier: Sequence[tuple[int, str]] = (),
    channel: Mapping[str, Any] | None = None,
) -> CapMessage:
    """One version of an advisory. ``earlier`` gives ``(version, updated_at)`` of the versions before it."""
    version = int(advisory["version"])
    refs = tuple(
        Reference(sender, advisory_identifier(sender, advisory["id"], v), format_timestamp(_time(t)), _time(t))
        for v, t in earlier
        if v < version
    )
    msg_type = "Cancel" if advisory["state"] == "ended" else "Update" if version > 1 else "Alert"
    if not refs:
        msg_type = "Alert"
    category, response, urgency, certainty = ADVISORY_CAP[advisory["type"]]
    if advisory["state"] == "ended":
        response, urgency = "None", "Past"
    restricted = advisory.get("channel") is not None
    params: list[NamedValue] = [(c.PARAM_ISSUER, str(advisory["issuer"]))]
    if restricted:
        params.append((PARAM_CHANNEL, str(advisory["channel"])))
    if advisory.get("alert_id"):
        params.append((PARAM_ALERT, str(advisory["alert_id"])))
    headline: Mapping[str, str] = advisory.get("headline") or {}
    text: Mapping[str, str] = advisory.get("text") or {}
    infos = []
    for lang in _languages(headline, text):
        short = lang.split("-")[0]
        infos.append(
            CapInfo(
                language=lang,
                category=(category,),
                event=messages.t(f"advisories.type.{advisory['type']}", short),
                response_type=(response,),
                urgency=urgency,
                severity=str(advisory["severity"]).capitalize(),
                certainty=certainty,
                audience=(channel or {}).get("audience") or None,
                event_code=((EVENT_CODE_ADVISORY, str(advisory["type"])),),
                effective=_time(advisory.get("effective_at") or advisory["issued_at"]),
                expires=_time(advisory["expires_at"]) if advisory.get("expires_at") else None,
                headline=headline.get(lang),
                description=text.get(lang),
                parameters=tuple(params),
                areas=tuple(areas.region_area(r, lang) for r in advisory.get("regions") or ()),
            )
        )
    restriction = None
    if restricted:
        name = (channel or {}).get("name") or advisory["channel"]
        restriction = messages.t("advisories.cap.restriction", "en", channel=advisory["channel"], name=name)
    return CapMessage(
        identifier=advisory_identifier(sender, advisory["id"], version),
        sender=sender,
        sent=_time(advisory["updated_at"]),
        status=c.STATUS_TO_CAP[_status(advisory)],
        msg_type=msg_type,
        scope="Restricted" if restricted else "Public",
        restriction=restriction,
        references=refs,
        incidents=(f"{c.URN_PREFIX}{sender}:advisory:{advisory['id']}",),
        infos=tuple(infos),
        version="1.2",
    )


def _status(record: Mapping[str, Any]) -> Status:
    return Status(record.get("status") or "actual")


def report_to_cap(
    report: Mapping[str, Any], *, sender: str, areas: RegionAreas, alert_versions: Sequence[tuple[int, datetime]]
) -> CapMessage:
    """A situation report: an ``Alert`` in the alert's incident, referencing the alert's version it was added
    to, with the observation as parameters."""
    version = int(report.get("alert_version") or 0)
    refs = references_of(sender, report["alert_id"], [v for v in alert_versions if v[0] <= version][-1:])
    params: list[NamedValue] = [
        (PARAM_ALERT, str(report["alert_id"])),
        (PARAM_THREAT, str(report["threat"])),
        (PARAM_COUNT, str(report["count"])),
        (PARAM_OBSERVED_AT, str(report["observed_at"])),
        (c.PARAM_ISSUER, str(report["issuer"])),
    ]
    if report.get("heading_deg") is not None:
        params.append((PARAM_HEADING, str(report["heading_deg"])))
    if report.get("target_region"):
        params.append((PARAM_TARGET_REGION, str(report["target_region"])))
    regions = [r for r in (report.get("region"), report.get("target_region")) if r]
    text: Mapping[str, str] = report.get("text") or {}
    infos = []
    for lang in _languages(text, dict.fromkeys(messages.LANGUAGES, "")):
        short = lang.split("-")[0]
        infos.append(
            CapInfo(
                language=lang,
                category=("Security",),
                event=messages.t(f"advisories.report.kind.{report['kind']}", short),
                response_type=("Monitor",),
                urgency="Immediate",
                severity="Unknown",
                certainty="Observed",
                event_code=((EVENT_CODE_REPORT, str(report["kind"])),),
                onset=_time(report["observed_at"]),
                headline=report_headline(report, areas.registry, short),
                description=text.get(lang) or None,
                parameters=tuple(params),
                areas=tuple(areas.region_area(r, lang) for r in regions),
            )
        )
    return CapMessage(
        identifier=f"{c.URN_PREFIX}{sender}:report:{report['id']}",
        sender=sender,
        sent=_time(report["added_at"]),
        status=c.STATUS_TO_CAP[_status(report)],
        msg_type="Alert",
        scope="Public",
        references=refs,
        incidents=(c.incident(sender, report["alert_id"]),),
        infos=tuple(infos),
        version="1.2",
    )


def all_clear_to_cap(
    body: Mapping[str, Any], *, sender: str, areas: RegionAreas, alert_versions: Sequence[tuple[int, datetime]]
) -> CapMessage:
    """The all-clear: an ``Update`` in the alert's chain (referencing every version) with ``AllClear``."""
    refs = references_of(sender, body["alert_id"], alert_versions)
    headline: Mapping[str, str] = body.get("headline") or {}
    text: Mapping[str, str] = body.get("text") or {}
    infos = []
    for lang in _languages(headline, text):
        short = lang.split("-")[0]
        infos.append(
            CapInfo(
                language=lang,
                category=("Security",),
                event=messages.t("advisories.type.all_clear", short),
                response_type=("AllClear",),
                urgency="Past",
                severity="Minor",
                certainty="Observed",
                event_code=((c.EVENT_CODE_KIND, str(body["kind"])),),
                expires=_time(body["expires_at"]),
                headline=headline.get(lang),
                description=text.get(lang),
                parameters=((c.PARAM_ISSUER, str(body["issuer"])), (c.PARAM_ENDED_AT, str(body["at"]))),
                areas=tuple(areas.region_area(r, lang) for r in body.get("regions") or ()),
            )
        )
    return CapMessage(
        identifier=f"{c.URN_PREFIX}{sender}:all-clear:{body['alert_id']}",
        sender=sender,
        sent=_time(body["at"]),
        status=c.STATUS_TO_CAP[_status(body)],
        msg_type="Update" if refs else "Alert",
        scope="Public",
        references=refs,
        incidents=(c.incident(sender, body["alert_id"]),),
        infos=tuple(infos),
        version="1.2",
    )


def message_identifier(sender: str, message_id: str) -> str:
    return f"{c.URN_PREFIX}{sender}:coordination:{message_id}"


def message_to_cap(message: Mapping[str, Any], *, sender: str) -> CapMessage:
    """A coordination message: ``Private``, addressed to its addressees, the text as the description."""
    info = CapInfo(
        language="und",
        category=("Other",),
        event=messages.t("advisories.cap.coordination_event", "en"),
        response_type=("None",),
        urgency="Immediate",
        severity="Unknown",
        certainty="Unknown",
        description=str(message["text"]),
        parameters=((PARAM_ALERT, str(message["alert_id"])),) if message.get("alert_id") else (),
    )
    return CapMessage(
        identifier=message_identifier(sender, message["id"]),
        sender=sender,
        sent=_time(message["sent_at"]),
        status=c.STATUS_TO_CAP[_status(message)],
        msg_type="Alert",
        scope="Private",
        source=str(message["from"]),
        addresses=tuple(message["to"]),
        infos=(info,),
        version="1.2",
    )


def ack_to_cap(
    message: Mapping[str, Any], *, sender: str, by: str, at: datetime, note: str | None = None
) -> CapMessage:
    """The ``Ack`` an addressee sends for ``message`` (what :func:`read_ack` expects)."""
    original = message_to_cap(message, sender=sender)
    assert original.sent is not None
    return CapMessage(
        identifier=f"{original.identifier}:ack:{by}",
        sender=by,
        sent=sent_of(at),
        status=original.status,
        msg_type="Ack",
        scope="Private",
        addresses=(str(message["from"]),),
        note=note,
        references=(Reference(sender, original.identifier, format_timestamp(original.sent), original.sent),),
        version="1.2",
    )


def read_ack(data: bytes, *, sender: str, max_bytes: int) -> tuple[str, str | None]:
    """The coordination message id a CAP ``Ack`` acknowledges, and its note. The Ack's own sender is not trusted:
    who acknowledges is the authenticated caller."""
    report = ingest(data, max_bytes=max_bytes)
    if len(report.messages) != 1:
        raise ValidationFailed(
            "advisories.error.ack_expected", field="body", reason=Phrase("validation.reason.one_cap_message")
        )
    msg = report.messages[0]
    if msg.msg_type != "Ack":
        raise ValidationFailed("advisories.error.ack_expected", field="msgType", value=msg.msg_type)
    prefix = f"{c.URN_PREFIX}{sender}:coordination:"
    for ref in msg.references:
        if ref.sender == sender and ref.identifier.startswith(prefix):
            message_id = ref.identifier[len(prefix) :]
            if message_id and ":" not in message_id:
                return message_id, msg.note
    raise ValidationFailed("advisories.error.ack_reference", field="references")


def feed_entry(
    *,
    kind: str,
    record_id: str,
    sender: str,
    base: str,
    title: str,
    summary: str | None,
    updated: Any,
    categories: tuple[str, ...],
) -> Entry:
    """An Atom entry linking to a notice's CAP (``kind``: ``advisory``, ``report``, ``all-clear``)."""
    paths = {
        "advisory": f"/api/v1/advisories/{record_id}",
        "report": f"/api/v1/reports/{record_id}",
        "all-clear": f"/api/v1/alerts/{record_id}/all-clear",
    }
    path = base.rstrip("/") + paths[kind]
    return Entry(
        id=f"{c.URN_PREFIX}{sender}:{kind}:{record_id}",
        title=title,
        updated=_time(updated) if not isinstance(updated, datetime) else updated,
        summary=summary,
        categories=categories,
        links=(
            Link(f"{path}.cap", type=MIME_CAP_XML),
            Link(path, rel="related", type="application/json"),
        ),
    )
