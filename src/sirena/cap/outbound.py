"""A Sirena alert (one version of it) as a CAP 1.2 message.

- ``identifier`` ``urn:sirena:<sender>:<alert id>:<version>``, ``sent`` the version's ``updated_at``,
  ``incidents`` ``urn:sirena:<sender>:<alert id>`` (the same for every version).
- ``msgType``: ``Alert`` for version 1, ``Update`` for later versions and for the end of the threat (with
  ``responseType`` ``AllClear`` and ``urgency`` ``Past``), ``Cancel`` for an alert issued in error. Every
  ``Update`` and ``Cancel`` lists all earlier versions in ``references`` (a version whose predecessors are not
  on record is written as a standalone ``Alert``).
- ``status``: ``Actual``, ``Exercise`` or ``Test``; ``scope`` ``Public``.
- one ``<info>`` per language of the headline and instruction (both catalogue languages when there is none),
  with the kind as ``eventCode`` and level, threats, time to shelter, target type, issuer, source and the exact
  (millisecond) times as ``parameter``s; areas as described in :mod:`sirena.cap.areas`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime

from sirena import messages
from sirena.cap import convention as c
from sirena.cap.areas import RegionAreas, geojson_rings
from sirena.domain.model import Alert, AlertState
from sirena.protocol.alert_json import format_time
from sirena.protocol.cap.model import CapArea, CapInfo, CapMessage, NamedValue, Reference
from sirena.protocol.cap.timestamps import format_timestamp

_LANGUAGE_OK = re.compile(r"[a-zA-Z]{1,8}(-[a-zA-Z0-9]{1,8})*")


def sent_of(moment: datetime) -> datetime:
    """The CAP ``sent`` of a version: its ``updated_at`` in UTC, to the second (CAP has no fractions)."""
    return moment.astimezone(UTC).replace(microsecond=0)


def references_of(sender: str, alert_id: str, earlier: Sequence[tuple[int, datetime]]) -> tuple[Reference, ...]:
    """References to the earlier versions ``(version, updated_at)`` of an alert, oldest first."""
    refs: list[Reference] = []
    for version, updated in sorted(earlier):
        sent = sent_of(updated)
        refs.append(Reference(sender, c.identifier(sender, alert_id, version), format_timestamp(sent), sent))
    return tuple(refs)


def languages_of(alert: Alert) -> tuple[str, ...]:
    found: list[str] = []
    for lang in (*alert.headline, *alert.instruction):
        if lang not in found and _LANGUAGE_OK.fullmatch(lang):
            found.append(lang)
    return tuple(found) or messages.LANGUAGES


def _parameters(alert: Alert, target: str) -> tuple[NamedValue, ...]:
    params: list[NamedValue] = [(c.PARAM_LEVEL, alert.level.value)]
    params += [(c.PARAM_THREAT, f"{t.type.value}:{t.level.value}") for t in alert.threats]
    if alert.time_to_shelter_s is not None:
        params.append((c.PARAM_TIME_TO_SHELTER, str(alert.time_to_shelter_s)))
    params += [(c.PARAM_TARGET, target), (c.PARAM_ISSUER, alert.issuer), (c.PARAM_SOURCE, alert.source.value)]
    for name, moment in (
        (c.PARAM_STARTED_AT, alert.started_at),
        (c.PARAM_UPDATED_AT, alert.updated_at),
        (c.PARAM_ENDED_AT, alert.ended_at),
        (c.PARAM_EXPIRES_AT, alert.expires_at),
    ):
        text = format_time(moment)
        if text is not None:
            params.append((name, text))
    return tuple(params)


def _target_kind(alert: Alert) -> str:
    if alert.target.area is not None:
        return c.TARGET_MULTIPOLYGON if alert.target.area.get("type") == "MultiPolygon" else c.TARGET_POLYGON
    if alert.target.circle is not None:
        return c.TARGET_CIRCLE
    return c.TARGET_REGIONS


def _areas(alert: Alert, areas: RegionAreas, lang: str) -> tuple[CapArea, ...]:
    target = alert.target
    if target.area is None and target.circle is None:
        return tuple(areas.region_area(region_id, lang) for region_id in target.regions or alert.regions)
    geocodes = tuple(g for r in alert.regions if r in areas.registry for g in areas.geocodes(r))
    desc = areas.describe(alert.touched_regions, lang) or messages.t("cap.area.shape", lang.split("-")[0])
    if target.circle is not None:
        circle = (target.circle.lat, target.circle.lon, target.circle.radius_km)
        return (CapArea(area_desc=desc, circles=(circle,), geocodes=geocodes),)
    assert target.area is not None
    return (CapArea(area_desc=desc, polygons=geojson_rings(target.area), geocodes=geocodes),)


def alert_to_cap(
    alert: Alert,
    *,
    sender: str,
    areas: RegionAreas,
    earlier: Sequence[tuple[int, datetime]] = (),
    web: str | None = None,
) -> CapMessage:
    """The CAP message of ``alert`` as it stands (its current version).

    ``earlier`` gives ``(version, updated_at)`` of the alert's earlier versions, for ``references``; ``web`` is a
    link for people to read more.
    """
    if alert.state is AlertState.CANCELLED:
        msg_type = "Cancel"
    elif alert.version > 1 or alert.state is AlertState.ENDED:
        msg_type = "Update"
    else:
        msg_type = "Alert"
    references = references_of(sender, alert.id, [e for e in earlier if e[0] < alert.version])
    if not references:  # no earlier version on record: the message stands alone
        msg_type = "Alert"
    feel = c.urgency_of(alert.state, alert.level)
    target = _target_kind(alert)
    params = _parameters(alert, target)
    infos: list[CapInfo] = []
    for lang in languages_of(alert):
        short = lang.split("-")[0]
        infos.append(
            CapInfo(
                language=lang,
                category=(c.CATEGORY[alert.kind],),
                event=messages.t(f"alert.kind.{alert.kind.value}", short),
                response_type=(feel.response_type,),
                urgency=feel.urgency,
                severity=feel.severity,
                certainty=feel.certainty,
                event_code=((c.EVENT_CODE_KIND, alert.kind.value),),
                onset=sent_of(alert.started_at),
                expires=sent_of(alert.expires_at) if alert.expires_at is not None else None,
                headline=alert.headline.get(lang),
                instruction=alert.instruction.get(lang),
                web=web,
                parameters=params,
                areas=_areas(alert, areas, lang),
            )
        )
    return CapMessage(
        identifier=c.identifier(sender, alert.id, alert.version),
        sender=sender,
        sent=sent_of(alert.updated_at),
        status=c.STATUS_TO_CAP[alert.status],
        msg_type=msg_type,
        scope="Public",
        references=references,
        incidents=(c.incident(sender, alert.id),),
        infos=tuple(infos),
        version="1.2",
    )
