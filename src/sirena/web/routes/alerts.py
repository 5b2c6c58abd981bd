"""Native alert API: issue, list, read, update, end, cancel."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Header, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, StrictBool

from sirena.auth.policy import Action, ApprovalNeeded
from sirena.auth.principal import Principal
from sirena.domain.model import AlertState, Status
from sirena.protocol.alert_json import alert_to_dict, dumps
from sirena.store.base import IdempotencyKey, WriteResult
from sirena.web.deps import acting, enums, refusals, require_principal, runtime, split
from sirena.web.routes.approvals import WAITING, wait_for_second_person
from sirena.web.schemas import AlertIn, AlertPatch, Texts

router = APIRouter(prefix="/api/v1/alerts", tags=["alerts"])

STATES: dict[str, frozenset[AlertState] | None] = {
    "active": frozenset({AlertState.ACTIVE}),
    "ended": frozenset({AlertState.ENDED, AlertState.CANCELLED}),
    "cancelled": frozenset({AlertState.CANCELLED}),
    "all": None,
}


Caller = Annotated[Principal, Depends(require_principal)]


class CancelIn(BaseModel):
    """Why the alert was issued in error (optional); it is added to the prepared retraction text."""

    model_config = ConfigDict(extra="forbid")
    reason: str | None = Field(None, max_length=500)


def _written(result: WriteResult, status: int = 200) -> JSONResponse:
    headers = {"Idempotent-Replayed": "true"} if result.replayed else None
    return JSONResponse(alert_to_dict(result.event.alert), status_code=status, headers=headers)


@router.post("", status_code=201, summary="Issue an alert", responses=WAITING)
async def issue_alert(
    request: Request,
    body: Annotated[AlertIn, Body()],
    who: Caller,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> JSONResponse:
    """Issue a new alert for regions, a polygon or a circle, within your scope. Retrying with the same
    `Idempotency-Key` returns the alert the first request issued, and issues nothing new. An alert the
    two-person rule holds back answers 202 with the approval request."""
    rt = runtime(request)
    idem = None
    if idempotency_key:
        digest = hashlib.sha256(dumps(body.model_dump(mode="json")).encode()).hexdigest()
        scope = f"token:{who.token_id}" if who.token_id is not None else f"user:{who.user_id}"
        idem = IdempotencyKey(scope=scope, key=idempotency_key, request_hash=digest)
    try:
        async with refusals(request, who, Action.ISSUE):
            ctx = acting(request, who, Action.ISSUE)
            result = await rt.service.issue(body.draft(who.issuer), idempotency=idem, ctx=ctx)
    except ApprovalNeeded as need:
        payload = body.model_dump(mode="json", exclude_unset=True)
        return await wait_for_second_person(request, who, Action.ISSUE, need, payload, key=idempotency_key)
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


@router.patch("/{alert_id}", summary="Update an active alert", responses=WAITING)
async def update_alert(
    request: Request, alert_id: str, body: Annotated[AlertPatch, Body()], who: Caller
) -> JSONResponse:
    """Change an active alert within your scope. A change that brings the alert under the two-person rule
    (more oblasts, nationwide, nuclear or chemical) answers 202 with the approval request."""
    try:
        async with refusals(request, who, Action.UPDATE, alert_id):
            ctx = acting(request, who, Action.UPDATE)
            result = await runtime(request).service.update(alert_id, body.changes(), ctx=ctx)
    except ApprovalNeeded as need:
        payload = body.model_dump(mode="json", exclude_unset=True)
        return await wait_for_second_person(request, who, Action.UPDATE, need, payload, alert_id=alert_id)
    return _written(result)


class EndIn(BaseModel):
    """`all_clear`: send an all-clear (`alert.all_clear`) on every outlet and channel; `true` for the prepared
    text, or texts per language (`{"uk": "…", "en": "…"}`) that replace it; `false` sends none. Left out, an
    all-clear is sent unless `SIRENA_ALL_CLEAR_ON_END` is `false`."""

    model_config = ConfigDict(extra="forbid")
    # strict: "no" or 0 is a mistake to report, not a quiet way to send no all-clear
    all_clear: StrictBool | Texts | None = None


@router.post("/{alert_id}/end", summary="End an alert: the threat is over")
async def end_alert(
    request: Request, alert_id: str, who: Caller, body: Annotated[EndIn | None, Body()] = None
) -> JSONResponse:
    """Never waits for a second person. The end is followed, in the same transaction, by an all-clear message
    every channel shows (`GET /api/v1/alerts/{id}/all-clear`), with the prepared text or the texts given in
    `all_clear`; `{"all_clear": false}` sends none."""
    rt = runtime(request)
    wanted = body.all_clear if body is not None else None
    if wanted is None:
        wanted = rt.settings.all_clear_on_end
    hook = rt.advisories.all_clears.hook(wanted if isinstance(wanted, dict) else None) if wanted else None
    async with refusals(request, who, Action.END, alert_id):
        return _written(await rt.service.end(alert_id, ctx=acting(request, who, Action.END, also=hook)))


@router.post("/{alert_id}/cancel", summary="Cancel an alert issued in error")
async def cancel_alert(
    request: Request, alert_id: str, who: Caller, body: Annotated[CancelIn | None, Body()] = None
) -> JSONResponse:
    """Retract at once an alert issued in error: it carries a prepared "issued in error, no action needed"
    instruction in every language (plus `reason`, if given) to every channel. Never waits for a second person."""
    reason = body.reason if body is not None else None
    async with refusals(request, who, Action.CANCEL, alert_id):
        ctx = acting(request, who, Action.CANCEL, details={"reason": reason} if reason else None)
        return _written(await runtime(request).service.cancel(alert_id, reason=reason, ctx=ctx))
