"""Webhook subscriptions: create (the signing secret is shown once), list, read, delete, the delivery log,
dead letters and redrive. Every call needs a bearer token."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from sirena.advisories.channels import check_channel_id
from sirena.delivery import NATIVE, SubscriptionFilter, Webhooks, WebhookSpec
from sirena.delivery.errors import ChannelDisabled
from sirena.delivery.nearby import Nearby, place_dict
from sirena.domain.model import Kind, Level, Status, ThreatType
from sirena.protocol.alert_json import format_time
from sirena.runtime import Runtime
from sirena.store.base import TokenRecord
from sirena.store.delivery import Attempt, WebhookMessage, WebhookSubscription
from sirena.web.deps import check_regions, enums, require_token, runtime
from sirena.web.routes.channels import existing_channels
from sirena.web.routes.push import PlaceIn

router = APIRouter(prefix="/api/v1/webhooks", tags=["webhooks"])

RegionId = Annotated[str, StringConstraints(min_length=1, max_length=64)]
Choice = Annotated[str, StringConstraints(min_length=1, max_length=64)]


class WebhookIn(BaseModel):
    """A subscription. Filters left out match everything, except `statuses`, which defaults to `["actual"]`."""

    model_config = ConfigDict(extra="forbid")
    url: Annotated[str, StringConstraints(min_length=1, max_length=2000)] = Field(
        description="Where to POST each event (http or https)."
    )
    regions: Annotated[list[RegionId], Field(max_length=2000)] | None = Field(
        None, description="Region ids; an alert for a region, its descendants or its ancestors matches."
    )
    places: Annotated[list[PlaceIn], Field(max_length=20)] = Field(
        default_factory=list,
        description="Points `{lat, lon}`: a polygon or circle alert matches only when one is inside its area "
        "(or one of `regions` is touched); a region alert matches the regions they lie in.",
    )
    kinds: Annotated[list[Choice], Field(max_length=20)] | None = None
    threats: Annotated[list[Choice], Field(max_length=20)] | None = None
    levels: Annotated[list[Choice], Field(max_length=2)] | None = None
    statuses: Annotated[list[Choice], Field(max_length=3)] | None = Field(
        None, description='`actual` (default), `exercise`, `test`, or `["all"]`.'
    )
    channels: Annotated[list[Annotated[str, StringConstraints(min_length=1, max_length=128)]], Field(max_length=50)] = (
        Field(default_factory=list, description="Channels whose advisories are delivered too, besides public ones.")
    )


def _placed(
    rt: Runtime, flt: SubscriptionFilter, places: list[tuple[float, float]]
) -> tuple[SubscriptionFilter, dict[str, Any]]:
    """With places: the filter's regions become its own and the places' (resolved now), and the places are kept
    to decide polygon and circle alerts (see ``sirena.delivery.nearby``)."""
    if not places:
        return flt, {}
    found = Nearby(rt.registry, rt.settings.place_border_margin_m).resolve(places)
    regions = tuple(dict.fromkeys([*(flt.regions or ()), *found]))
    return dataclasses.replace(flt, regions=regions), place_dict(places, flt.regions)


def _webhooks(request: Request) -> tuple[Runtime, Webhooks]:
    rt = runtime(request)
    if not rt.settings.webhooks:
        raise ChannelDisabled("error.channel_disabled", channel="webhooks")
    return rt, rt.delivery.webhooks


def _time(epoch: float | None) -> str | None:
    return None if epoch is None else format_time(datetime.fromtimestamp(epoch, UTC))


def subscription_json(sub: WebhookSubscription, *, secret: bool = False) -> dict[str, Any]:
    body: dict[str, Any] = {"id": sub.id, "url": sub.url}
    body.update({k: sub.filter.get(k) for k in ("regions", "kinds", "threats", "levels", "statuses")})
    if sub.filter.get("channels"):
        body["channels"] = sub.filter["channels"]
    if sub.filter.get("places"):
        body["places"] = [{"lat": p[0], "lon": p[1]} for p in sub.filter["places"]]
    body["created_at"] = format_time(sub.created_at)
    if secret:
        body["secret"] = sub.secret
    return body


def attempt_json(a: Attempt) -> dict[str, Any]:
    return {
        "id": a.id,
        "message_id": a.msg_id,
        "seq": a.seq,
        "attempt": a.attempt,
        "status_code": a.status_code,
        "error": a.error,
        "latency_ms": a.latency_ms,
        "at": _time(a.at),
        "state": a.state,
    }


def message_json(m: WebhookMessage) -> dict[str, Any]:
    return {
        "message_id": m.msg_id,
        "seq": m.seq,
        "state": m.state,
        "attempts": m.attempts,
        "queued_at": _time(m.created),
        "next_attempt_at": _time(m.next_at) if m.state == "pending" else None,
        "finished_at": _time(m.finished),
        "last_error": m.last_error,
    }


def _filter(rt: Runtime, body: WebhookIn) -> SubscriptionFilter:
    if body.regions is not None:
        check_regions(rt, body.regions, "regions")
    statuses = frozenset(Status) if body.statuses == ["all"] else enums(Status, body.statuses or ["actual"], "statuses")
    return SubscriptionFilter(
        regions=tuple(dict.fromkeys(body.regions)) if body.regions is not None else None,
        kinds=enums(Kind, body.kinds, "kinds") if body.kinds is not None else None,
        threats=enums(ThreatType, body.threats, "threats") if body.threats is not None else None,
        levels=enums(Level, body.levels, "levels") if body.levels is not None else None,
        statuses=statuses,
        channels=tuple(dict.fromkeys(check_channel_id(c, "channels") for c in body.channels)),
    )


@router.post("", status_code=201, summary="Subscribe a URL to alert events")
async def create_webhook(
    request: Request, body: Annotated[WebhookIn, Body()], token: Annotated[TokenRecord, Depends(require_token)]
) -> JSONResponse:
    """Each matching event is POSTed to `url` as `{"seq", "type", "alert"}`, signed with the returned `secret`
    (Standard Webhooks headers `webhook-id`, `webhook-timestamp`, `webhook-signature`). The secret is shown only
    in this response."""
    rt, hooks = _webhooks(request)
    await existing_channels(rt, body.channels)
    flt, extra = _placed(rt, _filter(rt, body), [(p.lat, p.lon) for p in body.places])
    spec = WebhookSpec(url=body.url, filter=flt, owner=token.owner or f"token:{token.name}", extra=extra)
    sub = await hooks.subscribe(spec)
    return JSONResponse(
        subscription_json(sub, secret=True), status_code=201, headers={"Location": f"{router.prefix}/{sub.id}"}
    )


@router.get("", summary="List webhook subscriptions")
async def list_webhooks(request: Request, token: Annotated[TokenRecord, Depends(require_token)]) -> dict[str, Any]:
    _, hooks = _webhooks(request)
    return {"webhooks": [subscription_json(s) for s in await hooks.find(kind=NATIVE)]}


@router.get("/{webhook_id}", summary="Read a webhook subscription and its queue")
async def get_webhook(
    request: Request, webhook_id: str, token: Annotated[TokenRecord, Depends(require_token)]
) -> dict[str, Any]:
    """The subscription and how many of its messages are pending, delivered, dead-lettered or cancelled."""
    _, hooks = _webhooks(request)
    sub = await hooks.get(webhook_id, kind=NATIVE)
    return subscription_json(sub) | {"messages": await hooks.counts(sub.id)}


@router.delete("/{webhook_id}", status_code=204, summary="Delete a webhook subscription")
async def delete_webhook(
    request: Request, webhook_id: str, token: Annotated[TokenRecord, Depends(require_token)]
) -> Response:
    """Stops deliveries at once; messages not yet delivered are cancelled. The delivery log is kept."""
    _, hooks = _webhooks(request)
    await hooks.delete(webhook_id, kind=NATIVE)
    return Response(status_code=204)


@router.get("/{webhook_id}/deliveries", summary="The delivery log: every attempt")
async def list_deliveries(
    request: Request,
    webhook_id: str,
    token: Annotated[TokenRecord, Depends(require_token)],
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    before: Annotated[int | None, Query(ge=1, description="Attempts older than this attempt id (paging).")] = None,
) -> dict[str, Any]:
    """Newest first: `seq`, `attempt` (1 for the first try), `status_code`, `error`, `latency_ms`, `at`, and
    the message's `state` now (`pending` while it will be retried, `delivered`, `dead`, `cancelled`)."""
    _, hooks = _webhooks(request)
    await hooks.get(webhook_id, kind=NATIVE)
    found = await hooks.deliveries(webhook_id, limit=limit, before=before)
    return {
        "deliveries": [attempt_json(a) for a in found],
        "next_before": found[-1].id if len(found) == limit else None,
    }


@router.get("/{webhook_id}/messages", summary="Queued, delivered and dead-lettered messages")
async def list_messages(
    request: Request,
    webhook_id: str,
    token: Annotated[TokenRecord, Depends(require_token)],
    state: Literal["pending", "delivered", "dead", "cancelled"] | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    """Newest first; `?state=dead` lists the dead letters with their last error."""
    _, hooks = _webhooks(request)
    await hooks.get(webhook_id, kind=NATIVE)
    found = await hooks.messages(webhook_id, state=state, limit=limit)
    return {"messages": [message_json(m) for m in found]}


@router.post("/{webhook_id}/redrive", summary="Queue dead-lettered messages again")
async def redrive(
    request: Request, webhook_id: str, token: Annotated[TokenRecord, Depends(require_token)]
) -> dict[str, Any]:
    """After fixing the receiver: its dead letters are delivered again, in their original order."""
    _, hooks = _webhooks(request)
    return {"requeued": await hooks.redrive(webhook_id, kind=NATIVE)}
