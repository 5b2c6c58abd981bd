"""HTTP hardening: rate limits on writes and logins, security headers, CORS (off unless configured).

Rate limits apply to writes (any method but GET, HEAD, OPTIONS) per credential (bearer token or session
cookie) and per client address, and to logins per client address. Reads and open streams are never limited:
tens of thousands of listeners may share one address behind a proxy. Behind a reverse proxy, run uvicorn with
``--proxy-headers --forwarded-allow-ips`` so the client address is the real one.

Every response gets ``X-Content-Type-Options: nosniff``; HTML gets a strict Content-Security-Policy (scripts
only from this origin, no framing), ``Referrer-Policy`` and ``X-Frame-Options``; HTTPS responses get HSTS.
Headers are added as the response starts, so streaming responses pass through untouched.
"""

from __future__ import annotations

import hashlib
import json
import math

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sirena import errors, messages
from sirena.auth.policy import ApprovalRules
from sirena.auth.ratelimit import RateLimiter
from sirena.settings import Settings
from sirena.web.problems import MEDIA_TYPE, problem_type

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
LOGIN_PATH = "/api/v1/session"
SESSION_COOKIE = "sirena_session"

PAGE_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
    "form-action 'self'"
)
# The interactive API docs load Swagger UI and ReDoc from their CDN and start them with an inline script.
DOCS_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net https://fonts.googleapis.com; "
    "font-src 'self' https://fonts.gstatic.com; img-src 'self' data: https://fastapi.tiangolo.com; "
    "worker-src 'self' blob:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)
DOCS_PATHS = ("/docs", "/redoc")


def install(app: FastAPI, settings: Settings) -> None:
    """Add the security middleware (and CORS when origins are configured). Checks the approval policy now, so
    a typo in ``SIRENA_APPROVAL_POLICY`` stops start-up instead of failing requests."""
    ApprovalRules.parse(settings.approval_policy)
    origins = [o.strip() for o in settings.cors_origins.split(",") if o.strip()]
    if origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=origins,
            allow_methods=["GET", "HEAD", "POST", "PATCH", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "Idempotency-Key", "Last-Event-ID", "Accept-Language"],
            expose_headers=["Location", "Retry-After", "Idempotent-Replayed"],
            allow_credentials=False,
            max_age=600,
        )
    app.add_middleware(Security, settings=settings)


def _credential(headers: dict[bytes, bytes]) -> str | None:
    """A key for the caller's credential (hashed: the limiter never holds a secret)."""
    value = headers.get(b"authorization", b"").strip()
    if value:
        return "cred:" + hashlib.sha256(value).hexdigest()[:32]
    for part in headers.get(b"cookie", b"").split(b";"):
        name, _, cookie = part.strip().partition(b"=")
        if name == SESSION_COOKIE.encode() and cookie:
            return "cred:" + hashlib.sha256(cookie).hexdigest()[:32]
    return None


class Security:
    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.writes = RateLimiter(settings.rate_limit_writes)
        self.writes_ip = RateLimiter(settings.rate_limit_writes_ip)
        self.logins = RateLimiter(settings.rate_limit_logins)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["method"] not in SAFE_METHODS:
            wait = self._limit(scope)
            if wait > 0:
                await _too_many(scope, send, wait)
                return
        https = scope.get("scheme") == "https"
        path: str = scope.get("path", "")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {k.lower() for k, _ in headers}
                extra = [(b"x-content-type-options", b"nosniff")]
                content_type = dict(headers).get(b"content-type", b"")
                if content_type.startswith(b"text/html"):
                    policy = DOCS_POLICY if path.startswith(DOCS_PATHS) else PAGE_POLICY
                    extra += [
                        (b"content-security-policy", policy.encode()),
                        (b"x-frame-options", b"DENY"),
                        (b"referrer-policy", b"no-referrer"),
                        (b"cross-origin-opener-policy", b"same-origin"),
                        (b"permissions-policy", b"camera=(), microphone=(), geolocation=(self)"),
                    ]
                if https:
                    extra.append((b"strict-transport-security", b"max-age=31536000"))
                headers += [(k, v) for k, v in extra if k not in names]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)

    def _limit(self, scope: Scope) -> float:
        client = scope.get("client")
        address = f"ip:{client[0] if client else '-'}"
        headers = dict(scope.get("headers") or [])
        if scope.get("path") == LOGIN_PATH and scope["method"] == "POST":
            return self.logins.hit(address)
        checks: list[tuple[RateLimiter, str]] = [(self.writes_ip, address)]
        credential = _credential(headers)
        if credential is not None:
            checks.append((self.writes, credential))
        for limiter, key in checks:
            wait = limiter.hit(key)
            if wait > 0:
                return wait
        return 0.0


async def _too_many(scope: Scope, send: Send, wait: float) -> None:
    retry = max(1, math.ceil(wait))
    error = errors.RateLimited("error.rate_limited")
    lang = messages.pick_language(dict(scope.get("headers") or []).get(b"accept-language", b"").decode("latin-1"))
    body = json.dumps(
        {
            "type": problem_type(error.slug),
            "title": error.title(lang),
            "status": error.status,
            "detail": error.detail(lang),
            "instance": scope.get("path", ""),
            "retry_after": retry,
        }
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 429,
            "headers": [
                (b"content-type", MEDIA_TYPE.encode()),
                (b"content-length", str(len(body)).encode()),
                (b"retry-after", str(retry).encode()),
                (b"x-content-type-options", b"nosniff"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
