"""The ukrainealarm.com API v3-compatible API, served under ``SIRENA_COMPAT_UKRAINEALARM_PREFIX``.

Only ``actual`` alerts ever appear. The key is a Sirena token in the ``Authorization`` header, without a scheme;
with ``SIRENA_COMPAT_PUBLIC=true`` reads work without one (webhook registration always needs a key).
"""

from __future__ import annotations

import contextlib
from typing import Annotated, Protocol
from urllib.parse import urlsplit

from fastapi import APIRouter, Body, Depends, FastAPI, Query, Request
from pydantic import BaseModel, Field
from starlette.responses import JSONResponse, Response

from sirena.delivery import WebhookNotFound, WebhookSpec
from sirena.domain.model import AlertState, Event, Status
from sirena.errors import BadRequest, NotFound, Unauthorized
from sirena.protocol.alert_json import dumps
from sirena.protocol.compat import Locations, ukrainealarm
from sirena.regions import RegionRegistry
from sirena.service import AlertService
from sirena.settings import Settings
from sirena.store.base import AlertQuery
from sirena.store.compat import CompatStore, Webhook
from sirena.web.compat_access import Caller, CompatRoute, identify, prefix, ukrainealarm_key
from sirena.web.compat_view import CompatView, conditional, encode, respond, validators, view
from sirena.web.deps import runtime

URL_LIMIT = 2048
HISTORY_SCAN = 500


async def access(request: Request) -> Caller:
    public = runtime(request).settings.compat_public
    return await identify(request, ukrainealarm_key(request), missing="compat.key_missing", public=public)


router = APIRouter(
    prefix="/api/v3", route_class=CompatRoute, tags=["ukrainealarm.com compatible"], dependencies=[Depends(access)]
)


def include(app: FastAPI, settings: Settings) -> None:
    app.include_router(router, prefix=prefix(settings.compat_ukrainealarm_prefix))


class WebHookModel(BaseModel):
    url: str | None = Field(default=None, alias="webHookUrl")


def _region(v: CompatView, region_id: str | None) -> str:
    if not region_id or region_id not in v.locations or region_id == v.locations.root_id:
        raise NotFound("compat.location_not_found", uid=region_id or "")
    return region_id


@router.get("/alerts", summary="Regions with active alerts, each with its own and inherited alerts")
async def alerts(request: Request) -> Response:
    v = view(request)
    snap = await v.current()
    build = lambda: ukrainealarm.active_region_models(snap.targets, v.locations)  # noqa: E731
    return conditional(request, snap.changed_at, lambda: snap.body(("ua-alerts",), build))


@router.get("/alerts/status", summary="Index of the last alert change")
async def alert_status(request: Request) -> Response:
    snap = await view(request).current()
    return conditional(
        request, snap.changed_at, lambda: snap.body(("ua-status",), lambda: {"lastActionIndex": snap.action_index})
    )


@router.get("/alerts/regionHistory", summary="The last 25 alerts of a region")
async def region_history(
    request: Request, region_id: Annotated[str, Query(alias="regionId", description="The region's id.")]
) -> Response:
    v = view(request)
    found = _region(v, region_id)
    snap = await v.current()
    headers, current = validators(request, snap.changed_at)
    if current:
        return respond(headers, current, lambda: b"")
    alerts = await v.runtime.store.find_alerts(
        AlertQuery(
            states=frozenset({AlertState.ACTIVE, AlertState.ENDED}),
            regions=frozenset(v.locations.covering(found)),
            statuses=frozenset({Status.ACTUAL}),
            limit=HISTORY_SCAN,
        )
    )
    body = encode(ukrainealarm.region_history(found, alerts, v.locations, v.now()))
    return respond(headers, False, lambda: body)


@router.get("/alerts/{region_id}", summary="One region's alerts (a one-element list)")
async def region_alerts(request: Request, region_id: str) -> Response:
    v = view(request)
    found = _region(v, region_id)
    snap = await v.current()
    headers, current = validators(request, snap.changed_at)
    if current:
        return respond(headers, current, lambda: b"")
    key = ("ua-region", found)
    if key not in snap.bodies:
        last = await v.last_update(snap, found)
        snap.body(key, lambda: [ukrainealarm.region_model(found, snap.targets, v.locations, last)])
    return respond(headers, False, lambda: snap.bodies[key])


@router.get("/regions", summary="The region tree (states, districts, communities)")
async def regions(request: Request) -> Response:
    v = view(request)
    return conditional(
        request, v.created_at, lambda: v.static_body(("ua-regions",), lambda: ukrainealarm.regions_tree(v.locations))
    )


def _url(body: WebHookModel | None) -> str:
    url = (body.url if body else None) or ""
    parts = urlsplit(url)
    if len(url) > URL_LIMIT or parts.scheme not in {"http", "https"} or not parts.hostname:
        raise BadRequest("compat.webhook_url_invalid")
    return url


def _token_id(caller: Caller) -> int:
    if caller.token is None:
        raise Unauthorized("compat.key_missing")
    return caller.token.id


KIND = "ukrainealarm"
"""The delivery subscriptions behind this API's webhooks are of this kind (the native API does not list them)."""
FORMAT = "sirena.web.routes.compat_ukrainealarm:webhook_format"


async def _subscription(request: Request, token_id: int, url: str, current: Webhook | None) -> str:
    """The delivery subscription that sends this key's events to ``url``: the current one moved to the URL, or
    a new one."""
    hooks = runtime(request).delivery.webhooks
    if current is not None and current.subscription_id:
        try:
            await hooks.update(current.subscription_id, kind=KIND, url=url)
        except WebhookNotFound:
            pass
        else:
            return current.subscription_id
    made = await hooks.subscribe(WebhookSpec(url=url, kind=KIND, format=FORMAT, owner=f"token:{token_id}"))
    return made.id


@router.post("/webhook", summary="Register this key's webhook")
async def register_webhook(
    request: Request, caller: Annotated[Caller, Depends(access)], body: Annotated[WebHookModel, Body()]
) -> JSONResponse:
    """Events are POSTed to the URL as ``AlertRegionModel`` documents, one per region an alert was issued for,
    whenever an actual alert is issued, changed, ended or cancelled (see ``docs/compat.md``)."""
    token_id = _token_id(caller)
    url = _url(body)
    v = view(request)
    current = await v.store.get_webhook(token_id)
    subscription = await _subscription(request, token_id, url, current)
    hook = await v.store.put_webhook(token_id, url, v.now(), subscription)
    return JSONResponse({"webHookUrl": hook.url})


@router.patch("/webhook", summary="Change this key's webhook URL")
async def change_webhook(
    request: Request, caller: Annotated[Caller, Depends(access)], body: Annotated[WebHookModel, Body()]
) -> Response:
    token_id = _token_id(caller)
    url = _url(body)
    v = view(request)
    current = await v.store.get_webhook(token_id)
    if current is None:
        raise NotFound("compat.webhook_not_found")
    subscription = await _subscription(request, token_id, url, current)
    await v.store.put_webhook(token_id, url, v.now(), subscription)
    return Response(status_code=200)


@router.delete("/webhook", summary="Remove this key's webhook")
async def remove_webhook(
    request: Request, caller: Annotated[Caller, Depends(access)], body: Annotated[WebHookModel | None, Body()] = None
) -> Response:
    token_id = _token_id(caller)
    store = view(request).store
    hook = await store.get_webhook(token_id)
    if hook is None:
        raise NotFound("compat.webhook_not_found")
    if body is not None and body.url and body.url != hook.url:
        raise NotFound("compat.webhook_mismatch")
    if hook.subscription_id:
        with contextlib.suppress(WebhookNotFound):
            await runtime(request).delivery.webhooks.delete(hook.subscription_id, kind=KIND)
    await store.delete_webhook(token_id)
    return Response(status_code=200)


class FormatContext(Protocol):
    """What a webhook format may consult (see ``sirena.delivery``): the region tree and the alert service."""

    @property
    def registry(self) -> RegionRegistry: ...
    @property
    def service(self) -> AlertService: ...


async def webhook_format(event: Event, subscription: object, context: FormatContext) -> list[str]:
    """The request bodies a ukrainealarm webhook receives for one event: an ``AlertRegionModel`` per region the
    alert was issued for, as the region stands after the change. Nothing for exercises and tests, nor once the
    key that registered the webhook is revoked."""
    if event.alert.status is not Status.ACTUAL:
        return []
    owner = str(getattr(subscription, "owner", None) or "")
    if owner.startswith("token:") and not await CompatStore(context.service.store).token_live(int(owner[6:])):
        return []  # the key was revoked: its webhook hears nothing more
    others = [a for a in await context.service.active() if a.id != event.alert.id]
    if event.alert.is_active:
        others.append(event.alert)
    payloads = ukrainealarm.webhook_payloads(event.alert, ukrainealarm.targets(others), Locations(context.registry))
    return [dumps(p) for p in payloads]
