"""RFC 9457 problem documents for every error, from the one exception tree in :mod:`sirena.errors`."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from sirena import errors, messages

MEDIA_TYPE = "application/problem+json"
log = logging.getLogger("sirena.web")


def problem_type(slug: str) -> str:
    return f"/problems/{slug}"


def problem_body(error: errors.SirenaError, lang: str, instance: str) -> dict[str, Any]:
    """The RFC 9457 document for ``error``, in ``lang``, with the error's data as extension members."""
    body: dict[str, Any] = {
        "type": problem_type(error.slug),
        "title": error.title(lang),
        "status": error.status,
        "detail": error.detail(lang),
        "instance": instance,
    }
    for key, value in error.extensions().items():
        body.setdefault(key, value)
    return body


def render(error: errors.SirenaError, request: Request, headers: dict[str, str] | None = None) -> JSONResponse:
    lang = messages.pick_language(request.headers.get("accept-language"))
    body = problem_body(error, lang, request.url.path)
    if isinstance(error, errors.Unauthorized):
        headers = {"WWW-Authenticate": 'Bearer realm="sirena"', **(headers or {})}
    return JSONResponse(body, status_code=error.status, media_type=MEDIA_TYPE, headers=headers)


def _field(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in {"body", "query", "path", "header"}]
    return ".".join(parts) or "body"


def from_validation(exc: RequestValidationError) -> errors.SirenaError:
    issues = list(exc.errors())
    if any(issue.get("type") == "json_invalid" for issue in issues):
        return errors.MalformedJSON("error.malformed_json")
    listed = []
    for issue in issues:
        value = issue.get("input")
        listed.append(
            {
                "field": _field(tuple(issue.get("loc", ()))),
                "value": value if isinstance(value, str | int | float | bool) or value is None else str(value),
                "reason": str(issue.get("msg", "")),
            }
        )
    first = listed[0] if listed else {"field": "body", "value": None, "reason": ""}
    return errors.ValidationFailed(
        "error.validation_field", field=first["field"], reason=first["reason"], errors=listed
    )


HTTP_ERRORS: dict[int, type[errors.SirenaError]] = {
    400: errors.BadRequest,
    401: errors.Unauthorized,
    403: errors.Forbidden,
    404: errors.NotFound,
    409: errors.Conflict,
    413: errors.PayloadTooLarge,
    429: errors.RateLimited,
    503: errors.Unavailable,
}


class MethodNotAllowed(errors.SirenaError):
    status = 405
    slug = "method-not-allowed"
    key = "error.method_not_allowed"


def install(app: FastAPI) -> None:
    async def on_sirena_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, errors.SirenaError)
        if exc.status >= 500:
            log.error("%s: %s", type(exc).__name__, exc)
        return render(exc, request, {"Retry-After": "2"} if isinstance(exc, errors.Unavailable) else None)

    async def on_validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return render(from_validation(exc), request)

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        if exc.status_code == 405:
            return render(MethodNotAllowed(), request, dict(exc.headers or {}))
        cls = HTTP_ERRORS.get(exc.status_code, errors.SirenaError)
        return render(cls(), request, dict(exc.headers or {}))

    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return render(errors.SirenaError(), request)

    app.add_exception_handler(errors.SirenaError, on_sirena_error)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(Exception, on_unexpected)
