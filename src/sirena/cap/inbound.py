"""A CAP message (read by :func:`sirena.protocol.cap.ingest`) as a change to a Sirena alert.

- ``msgType`` ``Alert`` issues; ``Update`` updates the alert of the message it references, or ends it when any
  ``info`` says ``responseType`` ``AllClear``; ``Cancel`` cancels it. ``Ack`` and ``Error`` change nothing.
- ``status`` ``Actual``, ``Exercise`` and ``Test`` keep their meaning; ``System`` and ``Draft`` are not alerts.
- The target: ``SIRENA`` and region-code geocodes (``KATOTTG`` …) name regions directly; when every area is
  named that way the alert targets those regions. Otherwise its polygons and circles (plus the outlines of areas
  named only by geocode) become the alert's area, which the service intersects with the region outlines.
- Text: one language per ``info`` (``uk-UA`` and ``en-US`` are read as Sirena's ``uk`` and ``en``); the headline is ``headline`` (else ``event``), the instruction is
  ``instruction`` (else ``description``). Kind, level, threats and time to shelter come from Sirena's own
  ``eventCode``/``parameter``s when present; otherwise the kind is ``chemical`` for ``CBRNE`` and ``air_raid``
  for everything else, and the level is red when urgency is Immediate or Expected and severity Extreme or Severe.

Messages Sirena wrote itself (they carry ``sirena:*`` parameters) are read exactly: :meth:`Inbound.as_alert`
gives back the alert they were made from, field for field.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

import shapely

from sirena import messages
from sirena.cap import convention as c
from sirena.cap.areas import POINT_RADIUS_KM, RegionAreas, geojson_of, rings_of
from sirena.domain.model import (
    Alert,
    AlertChanges,
    AlertDraft,
    AlertState,
    Circle,
    Kind,
    Level,
    Source,
    Status,
    Target,
    Threat,
    ThreatType,
)
from sirena.domain.texts import default_headline
from sirena.errors import ValidationFailed
from sirena.protocol.alert_json import parse_time
from sirena.protocol.cap.model import CapArea, CapInfo, CapMessage, message_key

Resolve = Callable[[Target], tuple[tuple[str, ...], tuple[str, ...]]]
MessageKey = tuple[str, str, str]


class Action(StrEnum):
    ISSUE = "issue"
    UPDATE = "update"
    END = "end"
    CANCEL = "cancel"


class CapNotUsable(ValidationFailed):
    """A CAP message that cannot become a Sirena alert (not an alert, no area in Sirena's regions …)."""

    slug = "cap-not-usable"
    key = "cap.error.not_usable"


@dataclass(frozen=True, slots=True)
class SirenaFacts:
    """What only a message written by Sirena carries: the alert as its sender had it."""

    alert_id: str | None
    version: int | None
    state: AlertState
    issuer: str
    source: Source
    started_at: datetime
    updated_at: datetime
    ended_at: datetime | None
    expires_at: datetime | None


@dataclass(frozen=True, slots=True)
class Inbound:
    message: CapMessage
    key: MessageKey
    action: Action
    status: Status
    draft: AlertDraft | None
    """The alert the message describes (``None`` for a cancel or an end that describes no area)."""
    facts: SirenaFacts | None
    problem: CapNotUsable | None = None
    """Why there is no draft."""

    def require_draft(self) -> AlertDraft:
        if self.draft is None:
            raise self.problem or CapNotUsable("cap.error.no_area")
        return self.draft

    def changes(self) -> AlertChanges:
        """The message as a full replacement of the alert's fields (a CAP update restates everything)."""
        draft = self.require_draft()
        return AlertChanges(
            target=draft.target,
            kind=draft.kind,
            level=draft.level,
            threats=draft.threats,
            headline=draft.headline,
            instruction=draft.instruction,
            time_to_shelter_s=draft.time_to_shelter_s,
            expires_at=draft.expires_at,
        )

    def as_alert(self, resolve: Resolve) -> Alert:
        """The alert a Sirena-written message was made from (``ValueError`` for anyone else's CAP)."""
        facts = self.facts
        if facts is None or facts.alert_id is None or facts.version is None:
            raise ValueError("not a message written by Sirena")
        draft = self.require_draft()
        regions, partial = resolve(draft.target)
        return Alert(
            id=facts.alert_id,
            version=facts.version,
            state=facts.state,
            target=draft.target,
            regions=regions,
            partial_regions=partial,
            kind=draft.kind,
            level=draft.level,
            status=draft.status,
            threats=draft.threats,
            issuer=facts.issuer,
            started_at=facts.started_at,
            updated_at=facts.updated_at,
            ended_at=facts.ended_at,
            expires_at=facts.expires_at,
            headline=dict(draft.headline),
            instruction=dict(draft.instruction),
            time_to_shelter_s=draft.time_to_shelter_s,
            source=facts.source,
        )


def _params(info: CapInfo | None) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    if info is not None:
        for name, value in (*info.event_code, *info.parameters):
            found.setdefault(name, []).append(value.strip())
    return found


def _one(params: Mapping[str, list[str]], name: str) -> str | None:
    values = params.get(name)
    return values[0] if values else None


def _kind(params: Mapping[str, list[str]], info: CapInfo | None) -> Kind:
    value = _one(params, c.EVENT_CODE_KIND)
    if value in {k.value for k in Kind}:
        return Kind(value)
    if info is not None and "CBRNE" in info.category:
        return Kind.CHEMICAL
    return Kind.AIR_RAID


def _level(params: Mapping[str, list[str]], info: CapInfo | None) -> Level:
    value = _one(params, c.PARAM_LEVEL)
    if value in {"red", "yellow"}:
        return Level(value)
    if info is not None and info.urgency in {"Immediate", "Expected"} and info.severity in {"Extreme", "Severe"}:
        return Level.RED
    return Level.YELLOW


def _threats(params: Mapping[str, list[str]]) -> tuple[Threat, ...]:
    threats: list[Threat] = []
    for value in params.get(c.PARAM_THREAT, []):
        name, _, level = value.partition(":")
        try:
            threats.append(Threat(ThreatType(name), Level(level or "red")))
        except ValueError:
            continue
    return tuple(threats)


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _time(value: str | None) -> datetime | None:
    try:
        return parse_time(value)
    except ValueError:
        return None


def _utc(moment: datetime | None) -> datetime | None:
    """A CAP time as Sirena keeps times: UTC, to the millisecond."""
    if moment is None:
        return None
    moment = moment.astimezone(UTC)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def _areas(message: CapMessage) -> list[CapArea]:
    """The areas of every info, each once: infos in several languages repeat the same areas under other names."""
    found: dict[tuple[object, ...], CapArea] = {}
    for info in message.infos:
        for area in info.areas:
            found.setdefault((area.polygons, area.circles, area.geocodes), area)
    return list(found.values())


def _target(message: CapMessage, params: Mapping[str, list[str]], areas: RegionAreas) -> Target:
    cap_areas = _areas(message)
    kind = _one(params, c.PARAM_TARGET)
    rings = [ring for area in cap_areas for ring in area.polygons]
    circles = [circle for area in cap_areas for circle in area.circles]
    if kind == c.TARGET_REGIONS:
        ids = [g[1].strip() for area in cap_areas for g in area.geocodes if c.code_key(g[0]) == "sirena"]
        if ids:
            return Target(regions=tuple(dict.fromkeys(ids)))
    if kind in {c.TARGET_POLYGON, c.TARGET_MULTIPOLYGON} and rings:
        return Target(area=geojson_of(rings, multi=kind == c.TARGET_MULTIPOLYGON))
    if kind == c.TARGET_CIRCLE and len(circles) == 1 and not rings:
        lat, lon, radius = circles[0]
        return Target(circle=Circle(lat, lon, radius))
    named = [areas.regions_of(area) for area in cap_areas]
    if cap_areas and all(named):
        return Target(regions=tuple(dict.fromkeys(r for ids in named for r in ids)))
    if not rings and not circles:
        ids = [r for found in named for r in found]
        if ids:
            return Target(regions=tuple(dict.fromkeys(ids)))
        raise CapNotUsable("cap.error.no_area")
    if len(circles) == 1 and not rings and all(not ids for ids in named):
        lat, lon, radius = circles[0]
        return Target(circle=Circle(lat, lon, radius or POINT_RADIUS_KM))
    shapes = [shape for area in cap_areas for shape in areas.geometry_of(area)]
    for ids, area in zip(named, cap_areas, strict=True):
        if ids and not area.polygons and not area.circles:
            shapes += [g for r in ids if (g := areas.registry.geometry(r)) is not None]
    merged = rings_of(shapely.union_all([s if s.is_valid else shapely.make_valid(s) for s in shapes]))
    if not merged:
        raise CapNotUsable("cap.error.no_area")
    return Target(area=geojson_of(merged, multi=len(merged) > 1))


def _language(tag: str) -> str:
    """Another sender's language tag as Sirena keys texts: ``uk-UA`` → ``uk`` for catalogue languages."""
    primary = tag.split("-")[0].lower()
    return primary if primary in messages.LANGUAGES else tag


def _texts(message: CapMessage, own: bool) -> tuple[dict[str, str], dict[str, str]]:
    headline: dict[str, str] = {}
    instruction: dict[str, str] = {}
    for info in message.infos:
        lang = info.language if own else _language(info.language)
        text = info.headline if own else info.headline or info.event
        if text and lang not in headline:
            headline[lang] = text
        text = info.instruction if own else info.instruction or info.description
        if text and lang not in instruction:
            instruction[lang] = text
    return headline, instruction


def _action(message: CapMessage) -> Action:
    if message.msg_type == "Cancel":
        return Action.CANCEL
    if message.msg_type == "Update":
        if any("AllClear" in info.response_type for info in message.infos):
            return Action.END
        return Action.UPDATE
    if message.msg_type == "Alert":
        return Action.ISSUE
    if not message.msg_type:
        raise CapNotUsable("cap.error.missing", element="msgType")
    raise CapNotUsable("cap.error.msg_type", msg_type=message.msg_type)


def _facts(message: CapMessage, params: Mapping[str, list[str]], action: Action) -> SirenaFacts | None:
    started = _time(_one(params, c.PARAM_STARTED_AT))
    updated = _time(_one(params, c.PARAM_UPDATED_AT))
    if started is None or updated is None:
        return None
    parsed = c.parse_identifier(message.sender, message.identifier)
    state = {Action.END: AlertState.ENDED, Action.CANCEL: AlertState.CANCELLED}.get(action, AlertState.ACTIVE)
    source = _one(params, c.PARAM_SOURCE)
    return SirenaFacts(
        alert_id=parsed[0] if parsed else None,
        version=parsed[1] if parsed else None,
        state=state,
        issuer=_one(params, c.PARAM_ISSUER) or f"cap:{message.sender}",
        source=Source(source) if source in {s.value for s in Source} else Source.CAP,
        started_at=started,
        updated_at=updated,
        ended_at=_time(_one(params, c.PARAM_ENDED_AT)),
        expires_at=_time(_one(params, c.PARAM_EXPIRES_AT)),
    )


def read_message(message: CapMessage, areas: RegionAreas) -> Inbound:
    """What ``message`` means for Sirena's alerts; :class:`CapNotUsable` when it is no alert at all."""
    # (sender, identifier, sent) is the message's identity on record: without it two messages would be one
    for element, value in (("sender", message.sender), ("identifier", message.identifier), ("sent", message.sent_text)):
        if not value.strip():
            raise CapNotUsable("cap.error.missing", element=element)
    action = _action(message)
    status = c.CAP_TO_STATUS.get(message.status)
    if status is None:
        raise CapNotUsable("cap.error.status", status=message.status or "(none)")
    info = message.infos[0] if message.infos else None
    params = _params(info)
    facts = _facts(message, params, action)
    own = facts is not None
    draft: AlertDraft | None = None
    problem: CapNotUsable | None = None
    try:
        target = _target(message, params, areas)
    except CapNotUsable as exc:
        problem = exc
    else:
        kind = _kind(params, info)
        headline, instruction = _texts(message, own)
        expiries = [e for i in message.infos if (e := _utc(i.expires)) is not None]
        started = facts.started_at if facts else _utc((info.onset or info.effective if info else None) or message.sent)
        draft = AlertDraft(
            target=target,
            kind=kind,
            level=_level(params, info),
            status=status,
            threats=_threats(params),
            issuer=f"cap:{message.sender}",
            headline=headline or ({} if own else default_headline(kind, status)),
            instruction=instruction,
            time_to_shelter_s=_int(_one(params, c.PARAM_TIME_TO_SHELTER)),
            expires_at=facts.expires_at if facts else (max(expiries) if expiries else None),
            source=Source.CAP,
            started_at=started,
        )
    return Inbound(message, message_key(message), action, status, draft, facts, problem)
