"""Access to the compatible APIs: who is calling (a Sirena token, or nobody when public reads are on), the
per-token rate limit, and errors in the ``{"message": "..."}`` shape both APIs use instead of problem documents.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from sirena import auth, errors, messages
from sirena.store.base import TokenRecord
from sirena.web.deps import runtime


class RateLimiter:
    """A token bucket per caller: ``limit`` requests a minute, in bursts of up to ``limit``.

    Buckets that have filled up again are forgotten once more than ``max_keys`` callers are tracked, so memory
    stays bounded whatever the number of distinct callers.
    """

    __slots__ = ("_buckets", "_clock", "limit", "max_keys")

    def __init__(self, limit: int, *, max_keys: int = 100_000, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = max(int(limit), 1)
        self.max_keys = max_keys
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}

    def check(self, key: str) -> float:
        """Take one request from ``key``'s bucket: 0 when allowed, else the seconds until one is available."""
        now = self._clock()
        rate = self.limit / 60.0
        tokens, seen = self._buckets.get(key, (float(self.limit), now))
        tokens = min(float(self.limit), tokens + (now - seen) * rate)
        if tokens < 1.0:
            self._buckets[key] = (tokens, now)
            return (1.0 - tokens) / rate
        self._buckets[key] = (tokens - 1.0, now)
        if len(self._buckets) > self.max_keys:
            self._forget_full(now)
        return 0.0

    def _forget_full(self, now: float) -> None:
        rate = self.limit / 60.0
        full = [k for k, (tokens, seen) in self._buckets.items() if tokens + (now - seen) * rate >= self.limit]
        for key in full:
            del self._buckets[key]

    def __len__(self) -> int:
        return len(self._buckets)


@dataclass(frozen=True, slots=True)
class Caller:
    token: TokenRecord | None
    """The caller's token; None for a public read without one."""
    key: str
    """What the rate limit counts against: the token, or the client address."""


def alerts_in_ua_key(request: Request) -> str | None:
    """alerts.in.ua sends the token as ``?token=`` or ``Authorization: Bearer``; empty counts as absent."""
    query = request.query_params.get("token", "").strip()
    return query or auth.bearer(request.headers.get("authorization"))


def ukrainealarm_key(request: Request) -> str | None:
    """ukrainealarm.com sends the key in ``Authorization`` without a scheme (a ``Bearer``/``Token`` one is
    tolerated)."""
    value = (request.headers.get("authorization") or "").strip()
    scheme, _, rest = value.partition(" ")
    if rest.strip() and scheme.lower() in {"bearer", "token"}:
        value = rest.strip()
    return value or None


def limiter(request: Request) -> RateLimiter:
    """The app's compat rate limiter, made on first use from ``SIRENA_COMPAT_RATE_LIMIT``."""
    found: RateLimiter | None = getattr(request.app.state, "compat_limiter", None)
    if found is None:
        found = RateLimiter(runtime(request).settings.compat_rate_limit)
        request.app.state.compat_limiter = found
    return found


async def identify(request: Request, key: str | None, *, missing: str, public: bool) -> Caller:
    """The caller for ``key``: its token (401 when unknown or revoked), or an anonymous caller when ``public``
    allows that (401 otherwise); then one request is taken from its rate limit (429 when exhausted)."""
    rt = runtime(request)
    token: TokenRecord | None = None
    if key is not None:
        try:
            token = await auth.authenticate(rt.store, key)
        except errors.Unauthorized:
            raise errors.Unauthorized("compat.token_invalid") from None
        counted = f"token:{token.id}"
    elif public:
        counted = f"addr:{request.client.host if request.client else 'unknown'}"
    else:
        raise errors.Unauthorized(missing)
    limits = limiter(request)
    wait = limits.check(counted)
    if wait > 0:
        raise errors.RateLimited("compat.rate_limited", limit=limits.limit, retry_after=math.ceil(wait))
    return Caller(token, counted)


def message_response(error: errors.SirenaError, request: Request) -> JSONResponse:
    """``{"message": "..."}`` with the error's status, in the caller's language."""
    lang = messages.pick_language(request.headers.get("accept-language"))
    headers: dict[str, str] = {}
    if isinstance(error, errors.RateLimited) and "retry_after" in error.data:
        headers["Retry-After"] = str(error.data["retry_after"])
    return JSONResponse({"message": error.detail(lang)}, status_code=error.status, headers=headers)


def _from_validation(exc: RequestValidationError) -> errors.SirenaError:
    issues = list(exc.errors())
    if any(issue.get("type") == "json_invalid" for issue in issues):
        return errors.MalformedJSON("error.malformed_json")
    reason = "; ".join(
        f"{'.'.join(str(p) for p in issue.get('loc', ()) if p not in {'body', 'query', 'path'}) or 'body'}: "
        f"{issue.get('msg', '')}"
        for issue in issues
    )
    return errors.BadRequest("compat.bad_request", reason=reason or "invalid input")


class CompatRoute(APIRoute):
    """A route whose errors, including failed authentication and validation, answer ``{"message": ...}``."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            try:
                return await handler(request)
            except errors.SirenaError as exc:
                return message_response(exc, request)
            except RequestValidationError as exc:
                return message_response(_from_validation(exc), request)
            except StarletteHTTPException as exc:
                return JSONResponse({"message": str(exc.detail)}, status_code=exc.status_code, headers=exc.headers)

        return guarded


def prefix(value: str) -> str:
    """A configured path prefix as a router prefix: ``""`` for the root, else ``/a/b`` (no trailing slash)."""
    cleaned = value.strip().strip("/")
    return f"/{cleaned}" if cleaned else ""
