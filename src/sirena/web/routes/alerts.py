"""Native alert API: issue, list, read, update, end, cancel."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Header, Query, Request
from fastapi.responses import JSONResponse

from sirena.domain.model import AlertState, Status
from sirena.protocol.alert_json import alert_to_dict, dumps
from sirena.store.base import IdempotencyKey, TokenRecord, WriteResult
from sirena.web.deps import enums, require_token, runtime, split
from sirena.web.schemas import AlertIn, AlertPatch

router = APIRouter(prefix="/api/v1/alerts", tags=["alerts"])

STATES: dict[str, frozenset[AlertState] | None] = {
    "active": frozenset({AlertState.ACTIVE}),
    "ended": frozenset({AlertState.ENDED, AlertState.CANCELLED}),
    "cancelled": frozenset({AlertState.CANCELLED}),
    "all": None,
}


def _issuer(token: TokenRecord) -> str:
    return token.owner or f"token:{token.name}"


def _written(result: WriteResult, status: int = 200) -> JSONResponse:
    headers = {"Idempotent-Replayed": "true"} if result.replayed else None
    return JSONResponse(alert_to_dict(result.event.alert), status_code=status, headers=headers)


@router.post("", status_code=201, summary="Issue an alert")
async def issue_alert(
    request: Request,
    body: Annotated[AlertIn, Body()],
    token: Annotated[TokenRecord, Depends(require_token)],
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> JSONResponse:
    """Issue a new alert for regions, a polygon or a circle. Retrying with the same `Idempotency-Key` returns
    the alert the first request issued, and issues nothing new."""
    rt = runtime(request)
    idem = None
    if idempotency_key:
        digest = hashlib.sha256(dumps(body.model_dump(mode="json")).encode()).hexdigest()
        idem = IdempotencyKey(scope=f"token:{token.id}", key=idempotency_key, request_hash=digest)
    result = await rt.service.issue(body.draft(_issuer(token)), idempotency=idem)
    return _written(result, 201)


@router.get("", summary="List alerts")
async def list_alerts(
    request: Request,
    state: Literal["active", "ended", "cancelled", "all"] = "active",
    region: Annotated[str | None, Query(max_length=64)] = None,
    since: datetime | None = None,
    statuses: Annotated[str | None, Query(description="Comma-separated: actual, exercise, test, or all.")] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> dict[str, Any]:
    """Alerts by state, region (with its descendants and ancestors), last change and status."""
    rt = runtime(request)
    wanted = split(statuses)
    status_set = None if wanted == ["all"] else enums(Status, wanted or ["actual"], "statuses")
    alerts = await rt.service.find(states=STATES[state], region=region, statuses=status_set, since=since, limit=limit)
    return {"alerts": [alert_to_dict(a) for a in alerts]}


@router.get("/{alert_id}", summary="Read one alert")
async def get_alert(request: Request, alert_id: str) -> dict[str, Any]:
    return alert_to_dict(await runtime(request).service.get(alert_id))


@router.patch("/{alert_id}", summary="Update an active alert")
async def update_alert(
    request: Request,
    alert_id: str,
    body: Annotated[AlertPatch, Body()],
    token: Annotated[TokenRecord, Depends(require_token)],
) -> JSONResponse:
    return _written(await runtime(request).service.update(alert_id, body.changes()))


@router.post("/{alert_id}/end", summary="End an alert: the threat is over")
async def end_alert(
    request: Request, alert_id: str, token: Annotated[TokenRecord, Depends(require_token)]
) -> JSONResponse:
    return _written(await runtime(request).service.end(alert_id))


@router.post("/{alert_id}/cancel", summary="Cancel an alert issued in error")
async def cancel_alert(
    request: Request, alert_id: str, token: Annotated[TokenRecord, Depends(require_token)]
) -> JSONResponse:
    return _written(await runtime(request).service.cancel(alert_id))
