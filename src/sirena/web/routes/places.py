"""Places: subscribers register points and regions, list and delete them, and ask which alerts reach a place and
where the nearest shelters are. Open to anyone, like push subscriptions: the subscriber id (generated on the
first registration) is the capability to list and add a subscriber's places, a place id to read or delete it.
Operators can ask how many subscribers an alert reaches.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from sirena import messages
from sirena.auth.principal import Principal
from sirena.domain.model import AlertState
from sirena.errors import ValidationFailed
from sirena.protocol.alert_json import alert_to_dict
from sirena.targeting import Place, place_json
from sirena.web.deps import require_principal, runtime, statuses_of
from sirena.web.routes.shelters import nearest_json

router = APIRouter(prefix="/api/v1/places", tags=["places"])

Subscriber = Annotated[str, Query(min_length=8, max_length=128, description="The subscriber id.")]


class PlaceIn(BaseModel):
    """A point (`lat` and `lon`) or a region id, for a subscriber (a new one when `subscriber` is left out)."""

    model_config = ConfigDict(extra="forbid")
    subscriber: str | None = Field(
        None, min_length=8, max_length=128, description="Add to this subscriber's places; leave out to start a new one."
    )
    lat: float | None = Field(None, ge=-90, le=90)
    lon: float | None = Field(None, ge=-180, le=180)
    region: str | None = Field(None, min_length=1, max_length=64, description="A region id instead of a point.")
    label: str | None = Field(None, max_length=100, description='The subscriber\'s own name for it ("home").')


def _json(request: Request, place: Place) -> dict[str, Any]:
    rt = runtime(request)
    lang = messages.pick_language(request.headers.get("accept-language"))
    return place_json(place, rt.registry, rt.places.time_to_shelter, lang)


@router.post("", status_code=201, summary="Register a place (a point or a region)")
async def register_place(request: Request, body: Annotated[PlaceIn, Body()]) -> JSONResponse:
    """A point is resolved now, once, to the finest regions with outlines that it lies in or near (today the
    oblast level for Ukraine); polygon and circle alerts reach it exactly by its coordinates."""
    place = await runtime(request).places.register(
        body.subscriber, lat=body.lat, lon=body.lon, region=body.region, label=body.label
    )
    return JSONResponse(_json(request, place), status_code=201)


@router.get("", summary="A subscriber's places")
async def list_places(request: Request, subscriber: Subscriber | None = None) -> dict[str, Any]:
    if subscriber is None:
        raise ValidationFailed("targeting.subscriber_required", field="subscriber")
    places = await runtime(request).places.places_of(subscriber)
    return {"subscriber": subscriber, "places": [_json(request, p) for p in places]}


@router.get("/reach/{alert_id}", summary="How many subscribers and places an alert reaches")
async def alert_reach(
    request: Request, alert_id: str, who: Annotated[Principal, Depends(require_principal)]
) -> dict[str, Any]:
    """Counts only (no subscriber ids or locations), for operators checking an alert's reach."""
    rt = runtime(request)
    alert = await rt.service.get(alert_id)
    found = await rt.places.match_codes(alert)
    return {
        "alert_id": alert.id,
        "subscribers": int(found.subscribers.size),
        "places": int(found.keys.size),
        "affected_regions": len(rt.places.affected_regions(alert)),
    }


@router.get("/{place_id}", summary="Read a place")
async def get_place(request: Request, place_id: str) -> dict[str, Any]:
    return _json(request, await runtime(request).places.get(place_id))


@router.delete("/{place_id}", status_code=204, summary="Delete a place")
async def delete_place(request: Request, place_id: str) -> Response:
    await runtime(request).places.delete(place_id)
    return Response(status_code=204)


@router.get("/{place_id}/alerts", summary="The active alerts that reach a place")
async def place_alerts(
    request: Request,
    place_id: str,
    statuses: Annotated[str | None, Query(description="Comma-separated: actual, exercise, test, or all.")] = None,
) -> dict[str, Any]:
    """Exact: a polygon or circle alert is listed only when the point is inside it. `time_to_shelter_s` is
    the shortest among the listed alerts, else the place's own from the region table."""
    rt = runtime(request)
    place = await rt.places.get(place_id)
    active = await rt.service.find(states=frozenset({AlertState.ACTIVE}), statuses=statuses_of(statuses), limit=100_000)
    reaching = [a for a in active if rt.places.reaches(a, place)]
    times = [a.time_to_shelter_s for a in reaching if a.time_to_shelter_s is not None]
    own = rt.places.time_to_shelter.for_region(place.regions[0]) if place.regions else None
    return {
        "place": place.id,
        "time_to_shelter_s": min(times) if times else own,
        "alerts": [alert_to_dict(a) for a in reaching],
    }


@router.get("/{place_id}/shelters", summary="The shelters nearest to a place")
async def place_shelters(
    request: Request, place_id: str, limit: Annotated[int, Query(ge=1, le=50)] = 5
) -> dict[str, Any]:
    """For a point place, by great-circle distance; a region place has no single location (422)."""
    rt = runtime(request)
    place = await rt.places.get(place_id)
    if place.lat is None or place.lon is None:
        raise ValidationFailed(
            "targeting.region_place_shelters", field="place", id=place.id, region=",".join(place.regions)
        )
    return nearest_json(await rt.shelters.nearest(place.lat, place.lon, limit))
