"""Shared request helpers: the runtime, the caller (token or session) and what they may do, list parameters."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import asynccontextmanager
from enum import StrEnum
from typing import Any, TypeVar

from fastapi import Request

from sirena import auth
from sirena.auth import accounts, audit
from sirena.auth.errors import CsrfFailed
from sirena.auth.policy import Action, ApprovalRules, Guard
from sirena.auth.principal import Principal
from sirena.domain.model import Status
from sirena.errors import Forbidden, Unauthorized, UnknownRegion, ValidationFailed
from sirena.runtime import Runtime
from sirena.store.base import TokenRecord, WriteHook
from sirena.web.security import SAFE_METHODS, SESSION_COOKIE

E = TypeVar("E", bound=StrEnum)


def runtime(request: Request) -> Runtime:
    rt: Runtime = request.app.state.runtime
    return rt


async def require_token(request: Request) -> TokenRecord:
    """The caller's live token (``Authorization: Bearer …``), or 401 (also when expired or its user disabled).

    Writes should use :func:`require_principal` and :func:`acting`, which also check role and scope."""
    token = auth.bearer(request.headers.get("authorization"))
    await auth.principal_for(runtime(request).store, token)
    return await auth.authenticate(runtime(request).store, token)


async def require_principal(request: Request) -> Principal:
    """The caller: a bearer token's user, or the user of a browser session (whose writes must carry the
    session's CSRF token in ``X-CSRF-Token``); 401 when neither is valid."""
    rt = runtime(request)
    token = auth.bearer(request.headers.get("authorization"))
    cookie = request.cookies.get(SESSION_COOKIE)
    if token is not None or not cookie:
        who = await auth.principal_for(rt.store, token)
    else:
        found = await accounts.session_principal(rt.store, cookie)
        if found is None:
            raise Unauthorized("error.session_missing")
        if request.method not in SAFE_METHODS and not accounts.csrf_ok(cookie, request.headers.get("x-csrf-token")):
            raise CsrfFailed("error.csrf_failed")
        who = found
    request.state.principal = who
    return who


def acting(
    request: Request,
    who: Principal,
    action: Action,
    *,
    details: Mapping[str, Any] | None = None,
    also: WriteHook | None = None,
) -> audit.Recorder:
    """The write context for an alert change by ``who``: role, scope and the two-person rule checked inside the
    transaction, and the audit entry written with it. The built-in administrator skips the two-person rule
    while ``SIRENA_APPROVAL_BUILTIN_EXEMPT`` is on."""
    rt = runtime(request)
    exempt = who.builtin and rt.settings.approval_builtin_exempt
    rules = None if exempt else ApprovalRules.parse(rt.settings.approval_policy)
    guard = Guard(who, action, rt.registry, rules)
    return audit.Recorder(who.actor, action.value, guard=guard, details={"via": who.via, **(details or {})}, also=also)


@asynccontextmanager
async def refusals(request: Request, who: Principal, action: Action, target: str | None = None) -> AsyncIterator[None]:
    """Audit a refused action (403) before the refusal goes back to the caller."""
    try:
        yield
    except Forbidden as exc:
        details = {"action": action.value, "via": who.via, "refused": exc.slug, **exc.extensions()}
        await audit.record(runtime(request).store, who.actor, "refused", target, details)
        raise


def split(value: str | None) -> list[str] | None:
    """``"a,b"`` → ``["a", "b"]``; ``None`` or blank → ``None``."""
    if value is None or not value.strip():
        return None
    return [part.strip() for part in value.split(",") if part.strip()]


def enums(kind: type[E], values: Iterable[str], field: str) -> frozenset[E]:
    out = set()
    for value in values:
        try:
            out.add(kind(value))
        except ValueError:
            raise ValidationFailed(
                "error.bad_choice", field=field, value=value, choices=[k.value for k in kind]
            ) from None
    return frozenset(out)


def statuses_of(value: str | None) -> frozenset[Status]:
    """A ``statuses`` parameter: comma-separated statuses, ``all`` for every one, ``actual`` when left out."""
    wanted = split(value)
    return frozenset(Status) if wanted == ["all"] else enums(Status, wanted or ["actual"], "statuses")


def check_regions(rt: Runtime, ids: Iterable[str], field: str) -> list[str]:
    ids = list(ids)
    for region_id in ids:
        if region_id not in rt.registry:
            raise UnknownRegion("error.unknown_region", field=field, value=region_id)
    return ids
