"""The two-person rule over HTTP: list requests, approve (the change is then made) or reject them."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from sirena.auth import approvals
from sirena.auth.audit import Recorder
from sirena.auth.errors import ApprovalNotFound
from sirena.auth.policy import Action, ApprovalNeeded, Guard
from sirena.auth.principal import Principal
from sirena.protocol.alert_json import alert_to_dict
from sirena.web.deps import refusals, require_principal, runtime
from sirena.web.schemas import AlertIn, AlertPatch

router = APIRouter(prefix="/api/v1/approvals", tags=["approvals"])

Caller = Annotated[Principal, Depends(require_principal)]

WAITING: dict[int | str, dict[str, Any]] = {
    202: {
        "description": 'Held back by the two-person rule: `{"approval": {"id", "state": "pending", ...}}`; '
        "another approver in scope decides at `/api/v1/approvals/{id}`.",
    }
}


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str | None = Field(None, max_length=500)


async def wait_for_second_person(
    request: Request,
    who: Principal,
    action: Action,
    need: ApprovalNeeded,
    body: dict[str, Any],
    *,
    alert_id: str | None = None,
    key: str | None = None,
) -> JSONResponse:
    """Record the held-back change and answer 202 with the approval request."""
    rt = runtime(request)
    record = await approvals.request(
        rt.store,
        who,
        action,
        need.proposed,
        need.reasons,
        body,
        ttl_s=rt.settings.approval_ttl_s,
        alert_id=alert_id,
        key=key,
    )
    return JSONResponse(
        {"approval": approvals.to_dict(record)},
        status_code=202,
        headers={"Location": f"/api/v1/approvals/{record.id}"},
    )


@router.get("", summary="Approval requests you can see")
async def list_approvals(
    request: Request,
    who: Caller,
    state: Literal["pending", "approved", "rejected", "expired", "all"] = "all",
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    """Newest first: your own requests, and those whose regions all lie in your scope."""
    rt = runtime(request)
    found = await approvals.listing(rt.store, who, rt.registry, None if state == "all" else state, limit)
    return {"approvals": [approvals.to_dict(r) for r in found]}


@router.get("/{approval_id}", summary="One approval request")
async def get_approval(request: Request, approval_id: str, who: Caller) -> dict[str, Any]:
    rt = runtime(request)
    record = await approvals.get(rt.store, approval_id)
    if not approvals.visible(record, who, rt.registry):
        raise ApprovalNotFound("error.approval_not_found", approval_id=approval_id)
    return {"approval": approvals.to_dict(record)}


@router.post("/{approval_id}/approve", summary="Approve a request: the held-back change is made now")
async def approve(request: Request, approval_id: str, who: Caller) -> dict[str, Any]:
    """Needs the approver role, a scope covering the request, and a different person from the requester. The
    change and the approval are written in one transaction."""
    rt = runtime(request)
    record = await approvals.get(rt.store, approval_id)
    async with refusals(request, who, Action.APPROVE, f"approval:{record.id}"):
        approvals.check_decider(record, who, rt.registry, Action.APPROVE)
        ctx = Recorder(
            who.actor,
            record.action,
            guard=Guard(who, Action.APPROVE, rt.registry, None),
            details={"approval": record.id, "requested_by": record.requester, "via": who.via},
            also=approvals.approving(record, who),
        )
        if record.action == Action.ISSUE.value:
            draft = AlertIn.model_validate(record.request).draft(record.requester)
            result = await rt.service.issue(draft, ctx=ctx)
        else:
            assert record.alert_id is not None
            changes = AlertPatch.model_validate(record.request).changes()
            result = await rt.service.update(record.alert_id, changes, ctx=ctx)
    done = await approvals.get(rt.store, approval_id)
    return {"approval": approvals.to_dict(done), "alert": alert_to_dict(result.event.alert)}


@router.post("/{approval_id}/reject", summary="Reject a request: nothing is written")
async def reject(
    request: Request, approval_id: str, who: Caller, body: Annotated[DecisionIn | None, Body()] = None
) -> dict[str, Any]:
    rt = runtime(request)
    record = await approvals.get(rt.store, approval_id)
    async with refusals(request, who, Action.REJECT, f"approval:{record.id}"):
        approvals.check_decider(record, who, rt.registry, Action.REJECT)
    done = await approvals.reject(rt.store, record, who, body.reason if body else None)
    return {"approval": approvals.to_dict(done)}
