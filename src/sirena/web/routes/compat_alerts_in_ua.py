"""The alerts.in.ua-compatible API (v1 and the v2 IoT strings), served under ``SIRENA_COMPAT_ALERTS_IN_UA_PREFIX``.

Only ``actual`` alerts ever appear. The token is a Sirena token, sent as ``?token=`` or
``Authorization: Bearer``; with ``SIRENA_COMPAT_PUBLIC=true`` reads work without one.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from fastapi import APIRouter, Depends, FastAPI, Request
from starlette.responses import Response

from sirena import messages
from sirena.domain.model import AlertState, Status
from sirena.errors import NotFound
from sirena.protocol.compat import alerts_in_ua
from sirena.settings import Settings
from sirena.store.base import AlertQuery
from sirena.web.compat_access import Caller, CompatRoute, alerts_in_ua_key, identify, prefix
from sirena.web.compat_view import CompatView, Snapshot, conditional, encode, respond, validators, view
from sirena.web.deps import runtime

PERIODS = {"week_ago": timedelta(days=7), "month_ago": timedelta(days=30)}
HISTORY_LIMIT = 10_000


async def access(request: Request) -> Caller:
    public = runtime(request).settings.compat_public
    return await identify(request, alerts_in_ua_key(request), missing="compat.token_missing", public=public)


router = APIRouter(route_class=CompatRoute, tags=["alerts.in.ua compatible"], dependencies=[Depends(access)])


def include(app: FastAPI, settings: Settings) -> None:
    app.include_router(router, prefix=prefix(settings.compat_alerts_in_ua_prefix))


def _lang(request: Request) -> str:
    return messages.pick_language(request.headers.get("accept-language"))


def _location(v: CompatView, uid: str) -> str:
    if uid not in v.locations or uid == v.locations.root_id:
        raise NotFound("compat.location_not_found", uid=uid)
    return uid


@router.get("/v1/alerts/active.json", summary="Active alerts (alerts.in.ua shape)")
async def active_alerts(request: Request) -> Response:
    v = view(request)
    snap = await v.current()
    lang = _lang(request)

    def build() -> object:
        found = alerts_in_ua.records(snap.alerts, snap.issued, v.locations)
        return alerts_in_ua.envelope(found, snap.changed_at, messages.t("compat.disclaimer", lang))

    return conditional(request, snap.changed_at, lambda: snap.body(("active", lang), build))


@router.get("/v1/regions/{uid}/alerts/{period}.json", summary="Alert history of an oblast (week_ago, month_ago)")
async def alert_history(request: Request, uid: str, period: str) -> Response:
    v = view(request)
    region_id = _location(v, uid)
    if period not in PERIODS:
        raise NotFound("compat.period_unknown", period=period)
    snap = await v.current()
    headers, current = validators(request, snap.changed_at)
    if current:
        return respond(headers, current, lambda: b"")
    lang = _lang(request)
    body = await _history(v, snap, region_id, PERIODS[period], lang)
    return respond(headers, False, lambda: body)


async def _history(v: CompatView, snap: Snapshot, region_id: str, period: timedelta, lang: str) -> bytes:
    registry = v.runtime.registry
    subtree = {region_id, *registry.descendants(region_id)}
    ended = await v.runtime.store.find_alerts(
        AlertQuery(
            states=frozenset({AlertState.ENDED}),
            regions=frozenset(subtree | set(registry.ancestors(region_id))),
            statuses=frozenset({Status.ACTUAL}),
            since=v.now() - period,
            limit=HISTORY_LIMIT,
        )
    )
    past = await v.store.record_bases(a.id for a in ended)
    bases = {**snap.issued, **past.bases}
    everything = alerts_in_ua.records((*snap.alerts, *ended), bases, v.locations, past.estimated)
    found = sorted(
        (r for r in everything if r["location_uid"] in subtree), key=lambda r: (r["started_at"], r["id"]), reverse=True
    )
    document = alerts_in_ua.envelope(found, snap.changed_at, messages.t("compat.disclaimer", lang))
    return encode(document)


def _iot(request: Request, snap: Snapshot, key: tuple[str, ...], build: Callable[[], str]) -> Response:
    return conditional(request, snap.changed_at, lambda: snap.body(key, build))


@router.get("/v1/iot/active_air_raid_alerts.json", summary="IoT: A/P/N per location UID")
async def iot_all(request: Request) -> Response:
    v = view(request)
    snap = await v.current()
    return _iot(request, snap, ("iot", "v1"), lambda: alerts_in_ua.iot_string(snap.air_states, v.locations))


@router.get("/v2/iot/active_air_raid_alerts.json", summary="IoT: R/Y/P/N per location UID")
async def iot_all_levels(request: Request) -> Response:
    v = view(request)
    snap = await v.current()
    return _iot(
        request, snap, ("iot", "v2"), lambda: alerts_in_ua.iot_string(snap.air_states, v.locations, with_level=True)
    )


@router.get("/v1/iot/active_air_raid_alerts_by_oblast.json", summary="IoT: A/P/N for the 27 oblasts")
async def iot_by_oblast(request: Request) -> Response:
    snap = await view(request).current()
    return _iot(request, snap, ("oblasts", "v1"), lambda: alerts_in_ua.iot_by_oblast(snap.air_states))


@router.get("/v2/iot/active_air_raid_alerts_by_oblast.json", summary="IoT: R/Y/P/N for the 27 oblasts")
async def iot_by_oblast_levels(request: Request) -> Response:
    snap = await view(request).current()
    return _iot(request, snap, ("oblasts", "v2"), lambda: alerts_in_ua.iot_by_oblast(snap.air_states, with_level=True))


@router.get("/v1/iot/active_air_raid_alerts/{uid}.json", summary="IoT: A/P/N for one location")
async def iot_location(request: Request, uid: str) -> Response:
    v = view(request)
    region_id = _location(v, uid)
    snap = await v.current()
    return _iot(request, snap, ("uid", "v1", region_id), lambda: alerts_in_ua.iot_char(snap.air_states.get(region_id)))


@router.get("/v2/iot/active_air_raid_alerts/{uid}.json", summary="IoT: R/Y/P/N for one location")
async def iot_location_levels(request: Request, uid: str) -> Response:
    v = view(request)
    region_id = _location(v, uid)
    snap = await v.current()
    return _iot(
        request,
        snap,
        ("uid", "v2", region_id),
        lambda: alerts_in_ua.iot_char(snap.air_states.get(region_id), with_level=True),
    )
