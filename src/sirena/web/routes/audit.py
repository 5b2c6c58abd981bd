"""The audit log over HTTP, for administrators: entries in order, and a check of the hash chain."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from sirena.auth import audit
from sirena.auth.policy import Action, require_role
from sirena.auth.principal import Principal
from sirena.web.deps import refusals, require_principal, runtime

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])

Caller = Annotated[Principal, Depends(require_principal)]


@router.get("", summary="Audit log entries (administrators)")
async def list_entries(
    request: Request,
    who: Caller,
    after: Annotated[int, Query(ge=0, description="Entries after this sequence number.")] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    action: Annotated[str | None, Query(max_length=64, description="Only this action (or family: `alert`).")] = None,
) -> dict[str, Any]:
    """Each entry: `seq`, `at`, `actor`, `action`, `target`, `details`, `prev_hash`, `hash`
    (SHA-256 over the entry's fields and `prev_hash`)."""
    async with refusals(request, who, Action.READ_AUDIT):
        require_role(who, Action.READ_AUDIT)
    found = await audit.entries(runtime(request).store, after=after, limit=limit, action=action)
    return {"entries": [e.to_dict() for e in found]}


@router.get("/verify", summary="Check the audit log's hash chain (administrators)")
async def verify(request: Request, who: Caller) -> dict[str, Any]:
    """`ok`, the number of `entries`, the `head` (`seq:hash`, worth keeping elsewhere), and when broken the
    first `bad_entry` and what is wrong with it."""
    async with refusals(request, who, Action.READ_AUDIT):
        require_role(who, Action.READ_AUDIT)
    return (await audit.verify(runtime(request).store)).to_dict()
