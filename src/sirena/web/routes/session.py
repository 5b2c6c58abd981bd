"""Login for the browser console: a session cookie (HttpOnly, SameSite=Strict) and a CSRF token that every
write made with the cookie must send back in ``X-CSRF-Token``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from sirena.auth import accounts
from sirena.auth.errors import AccountLocked, CsrfFailed
from sirena.errors import Unauthorized
from sirena.protocol.alert_json import format_time
from sirena.web import problems
from sirena.web.deps import runtime
from sirena.web.security import SESSION_COOKIE

router = APIRouter(prefix="/api/v1/session", tags=["session"])


class LoginIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=accounts.MAX_PASSWORD, repr=False)


def _client(request: Request) -> str:
    return request.client.host if request.client else ""


@router.post("", summary="Log in (browser console)", responses={401: {}, 429: {}})
async def login(request: Request, body: Annotated[LoginIn, Body()]) -> Response:
    """Sets the session cookie and returns the user and the session's `csrf_token`. Repeated failures lock
    the account for a while (429 with `Retry-After`), doubling with every further failure."""
    rt = runtime(request)
    s = rt.settings
    policy = accounts.LoginPolicy(s.login_lockout_after, s.login_lockout_s, s.session_ttl_s)
    try:
        session = await accounts.login(rt.store, body.name, body.password, policy, client=_client(request))
    except AccountLocked as exc:
        return problems.render(exc, request, {"Retry-After": str(exc.data["retry_after"])})
    response = JSONResponse(
        {
            "user": session.principal.describe(),
            "csrf_token": session.csrf,
            "expires_at": format_time(session.expires_at),
        }
    )
    response.set_cookie(
        SESSION_COOKIE,
        session.token,
        max_age=int(s.session_ttl_s),
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )
    return response


async def _session(request: Request) -> tuple[str, Any]:
    cookie = request.cookies.get(SESSION_COOKIE)
    who = await accounts.session_principal(runtime(request).store, cookie) if cookie else None
    if cookie is None or who is None:
        raise Unauthorized("error.session_missing")
    return cookie, who


@router.get("", summary="The current session")
async def current(request: Request) -> dict[str, Any]:
    cookie, who = await _session(request)
    return {"user": who.describe(), "csrf_token": accounts.csrf_token(cookie)}


@router.delete("", status_code=204, summary="Log out")
async def logout(request: Request) -> Response:
    cookie, who = await _session(request)
    if not accounts.csrf_ok(cookie, request.headers.get("x-csrf-token")):
        raise CsrfFailed("error.csrf_failed")
    await accounts.logout(runtime(request).store, cookie, who)
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
