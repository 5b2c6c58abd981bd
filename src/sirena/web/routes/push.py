"""Web Push: the server's VAPID public key and browser subscriptions for regions or places. Open to anyone (a
browser subscribes without an account); the subscription id is the capability to read or delete it."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from sirena.delivery.errors import ChannelDisabled
from sirena.delivery.push import Place, WebPush
from sirena.domain.model import Status
from sirena.protocol.alert_json import format_time
from sirena.store.delivery import PushRecord
from sirena.web.deps import check_regions, enums, runtime
from sirena.web.routes.channels import existing_channels

router = APIRouter(prefix="/api/v1/push", tags=["push"])

RegionId = Annotated[str, StringConstraints(min_length=1, max_length=64)]
Key = Annotated[str, StringConstraints(min_length=1, max_length=200)]


class KeysIn(BaseModel):
    p256dh: Key
    auth: Key


class BrowserSubscription(BaseModel):
    """What the browser's `PushSubscription.toJSON()` gives."""

    endpoint: Annotated[str, StringConstraints(min_length=1, max_length=2000)]
    keys: KeysIn
    expirationTime: float | None = None


class PlaceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)


class PushIn(BaseModel):
    """A browser subscription and what it wants: regions and/or places (all regions when neither is given)."""

    model_config = ConfigDict(extra="forbid")
    subscription: BrowserSubscription
    regions: Annotated[list[RegionId], Field(max_length=200)] | None = None
    places: Annotated[list[PlaceIn], Field(max_length=20)] = Field(default_factory=list)
    statuses: Annotated[list[str], Field(max_length=3)] | None = None
    channels: Annotated[list[Annotated[str, StringConstraints(min_length=1, max_length=128)]], Field(max_length=50)] = (
        Field(default_factory=list, description="Channels whose advisories are pushed too, besides public ones.")
    )
    lang: Literal["uk", "en"] = "uk"


def _push(request: Request) -> WebPush:
    push = runtime(request).delivery.push
    if push is None:
        raise ChannelDisabled("error.channel_disabled", channel="Web Push")
    return push


def push_json(record: PushRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "endpoint": record.endpoint,
        "regions": record.filter.get("regions"),
        "places": [{"lat": p[0], "lon": p[1]} for p in record.filter.get("places", [])],
        "statuses": record.filter.get("statuses"),
        "channels": record.filter.get("channels") or [],
        "lang": record.lang,
        "created_at": format_time(record.created_at),
    }


@router.get("/key", summary="The server's VAPID public key")
async def vapid_key(request: Request) -> dict[str, str]:
    """Pass it as `applicationServerKey` to `PushManager.subscribe()` (base64url, uncompressed P-256 point)."""
    return {"public_key": _push(request).public_key}


@router.post("/subscriptions", status_code=201, summary="Subscribe a browser to alerts for regions or places")
async def subscribe(request: Request, body: Annotated[PushIn, Body()]) -> JSONResponse:
    """201 with the subscription's `id`; the same `endpoint` again replaces the earlier subscription (200)."""
    push = _push(request)
    rt = runtime(request)
    if body.regions is not None:
        check_regions(rt, body.regions, "regions")
    statuses = frozenset(Status) if body.statuses == ["all"] else enums(Status, body.statuses or ["actual"], "statuses")
    record, created = await push.subscribe(
        body.subscription.endpoint,
        body.subscription.keys.p256dh,
        body.subscription.keys.auth,
        regions=body.regions,
        places=[Place(p.lat, p.lon) for p in body.places],
        statuses=statuses,
        channels=await existing_channels(rt, body.channels),
        lang=body.lang,
    )
    return JSONResponse(push_json(record), status_code=201 if created else 200)


@router.get("/subscriptions/{subscription_id}", summary="Read a push subscription")
async def get_subscription(request: Request, subscription_id: str) -> dict[str, Any]:
    return push_json(await _push(request).get(subscription_id))


@router.delete("/subscriptions/{subscription_id}", status_code=204, summary="Unsubscribe a browser")
async def unsubscribe(request: Request, subscription_id: str) -> Response:
    await _push(request).unsubscribe(subscription_id)
    return Response(status_code=204)
