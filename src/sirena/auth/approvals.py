"""The two-person rule: changes the policy holds back wait here until a different approver in scope decides.

A request records what was asked (the request body), the regions it touches, why it waits and until when.
Approving runs the change and marks the request approved in one transaction, so a request is acted on at
most once; rejecting and expiry leave nothing written. Ending and cancelling never wait.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sirena.auth.errors import ApprovalClosed, ApprovalNotFound, SelfApproval
from sirena.auth.policy import Action, require_regions, require_role
from sirena.auth.principal import Principal, now
from sirena.auth.storage import sql_store
from sirena.domain.model import Alert
from sirena.ids import new_id
from sirena.protocol.alert_json import format_time
from sirena.regions import RegionRegistry
from sirena.store import auth as sql
from sirena.store.auth import ApprovalRecord
from sirena.store.base import WriteHook, WriteResult
from sirena.store.sql import Connection

STATES = ("pending", "approved", "rejected", "expired")


def to_dict(record: ApprovalRecord, at: datetime | None = None) -> dict[str, Any]:
    return {
        "id": record.id,
        "state": record.state_at(at or now()),
        "action": record.action,
        "alert_id": record.alert_id or record.result_alert_id,
        "regions": list(record.regions),
        "reasons": list(record.reasons),
        "requested_by": record.requester,
        "requested_at": format_time(record.requested_at),
        "expires_at": format_time(record.expires_at),
        "decided_by": record.decider,
        "decided_at": format_time(record.decided_at),
        "reason": record.decision_reason,
        "request": record.request,
    }


async def request(
    store: object,
    who: Principal,
    action: Action,
    proposed: Alert,
    reasons: tuple[str, ...],
    body: Mapping[str, Any],
    *,
    ttl_s: float,
    alert_id: str | None = None,
    key: str | None = None,
) -> ApprovalRecord:
    """Record a change that waits for a second person; a retry with the same ``key`` gets the same request."""
    when = now()
    record = ApprovalRecord(
        id=new_id(when),
        action=action.value,
        alert_id=alert_id,
        state="pending",
        requested_by=who.user_id,
        requester=who.issuer,
        requested_at=when,
        expires_at=when + timedelta(seconds=ttl_s),
        regions=proposed.touched_regions,
        reasons=reasons,
        request=dict(body),
        idempotency_key=key,
    )

    def run(conn: Connection) -> ApprovalRecord:
        if key is not None:
            earlier = sql.approval_by_key(conn, who.user_id, key)
            if earlier is not None:
                return earlier
        sql.insert_approval(conn, record)
        details = {
            "action": record.action,
            "alert_id": alert_id,
            "regions": list(record.regions),
            "reasons": list(reasons),
            "via": who.via,
        }
        sql.append_audit(conn, when, who.actor, "approval.request", f"approval:{record.id}", details)
        return record

    return await sql_store(store).transaction(run)


async def get(store: object, approval_id: str) -> ApprovalRecord:
    found = await sql_store(store).read(lambda conn: sql.get_approval(conn, approval_id))
    if found is None:
        raise ApprovalNotFound("error.approval_not_found", approval_id=approval_id)
    return found


def visible(record: ApprovalRecord, who: Principal, registry: RegionRegistry) -> bool:
    """Requests are shown to their requester and to whoever's scope covers every region they touch."""
    return record.requested_by == who.user_id or all(who.covers(r, registry) for r in record.regions)


async def listing(
    store: object, who: Principal, registry: RegionRegistry, state: str | None = None, limit: int = 1000
) -> list[ApprovalRecord]:
    at = now()
    found = await sql_store(store).read(lambda conn: sql.list_approvals(conn, limit))
    return [r for r in found if visible(r, who, registry) and (state is None or r.state_at(at) == state)]


def check_decider(record: ApprovalRecord, who: Principal, registry: RegionRegistry, action: Action) -> None:
    """A decision needs the approver role, a different person, a scope covering the request, and a request
    that is still pending."""
    require_role(who, action)
    if record.requested_by == who.user_id:
        raise SelfApproval("error.self_approval", approval_id=record.id)
    require_regions(who, record.regions, registry, action)
    state = record.state_at(now())
    if state != "pending":
        raise ApprovalClosed("error.approval_closed", approval_id=record.id, state=state)


def approving(record: ApprovalRecord, who: Principal) -> WriteHook:
    """The hook that marks the request approved inside the transaction that carries out the change; if the
    request was decided or expired meanwhile, the change is undone."""

    def hook(conn: Any, result: WriteResult) -> None:
        when = now()
        alert_id = result.event.alert.id
        if not sql.decide_approval(conn, record.id, "approved", who.user_id, who.name, when, None, alert_id):
            current = sql.get_approval(conn, record.id)
            state = current.state_at(when) if current else "missing"
            raise ApprovalClosed("error.approval_closed", approval_id=record.id, state=state)
        details = {"alert_id": alert_id, "requested_by": record.requester, "via": who.via}
        sql.append_audit(conn, when, who.actor, "approval.approve", f"approval:{record.id}", details)

    return hook


async def reject(store: object, record: ApprovalRecord, who: Principal, reason: str | None) -> ApprovalRecord:
    when = now()

    def run(conn: Connection) -> ApprovalRecord:
        if not sql.decide_approval(conn, record.id, "rejected", who.user_id, who.name, when, reason, None):
            current = sql.get_approval(conn, record.id)
            raise ApprovalClosed(
                "error.approval_closed", approval_id=record.id, state=current.state_at(when) if current else "missing"
            )
        details = {"reason": reason, "requested_by": record.requester, "via": who.via}
        sql.append_audit(conn, when, who.actor, "approval.reject", f"approval:{record.id}", details)
        updated = sql.get_approval(conn, record.id)
        assert updated is not None
        return updated

    return await sql_store(store).transaction(run)
