"""RFC 9457 problem documents for every error, from the one exception tree in :mod:`sirena.errors`."""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Mapping
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
    for key, value in error.extensions(lang).items():
        body.setdefault(key, value)
    return body


def render(error: errors.SirenaError, request: Request, headers: dict[str, str] | None = None) -> JSONResponse:
    lang = messages.pick_language(request.headers.get("accept-language"))
    body = problem_body(error, lang, request.url.path)
    if isinstance(error, errors.Unauthorized):
        headers = {"WWW-Authenticate": 'Bearer realm="sirena"', **(headers or {})}
    return JSONResponse(body, status_code=error.status, media_type=MEDIA_TYPE, headers=headers)


MAX_VALUE_CHARS = 200
"""A rejected value is echoed up to this length (then ``…``): a huge text is not sent back whole."""

# pydantic names the member of a union it tried in the location (``dict[str,str]``, ``function-after[...]``,
# ``bool`` for ``bool | dict[...]``); a client knows the field by its own name only
_TYPE_TAG = re.compile(r"^[a-z][\w-]*\[.*\]$")
_SCALAR_TAGS = {"bool": "bool_", "str": "string_", "int": "int_", "float": "float_", "none": "none_"}


def _location(issue: Mapping[str, Any]) -> list[str]:
    loc = [str(p) for p in issue.get("loc", ()) if p not in {"body", "query", "path", "header"}]
    loc = [p for p in loc if not _TYPE_TAG.match(p)]
    tag = _SCALAR_TAGS.get(loc[-1]) if loc else None
    if tag is not None and str(issue.get("type", "")).startswith(tag):
        loc.pop()
    return loc


def _echo(value: Any) -> Any:
    if isinstance(value, dict | list):  # a part of the request's JSON: shown as JSON, as the client wrote it
        shown: Any = json.dumps(value, ensure_ascii=False, separators=(", ", ": "), default=str)
    else:
        shown = value if isinstance(value, str | int | float | bool) or value is None else str(value)
    if isinstance(shown, float) and not math.isfinite(shown):
        return str(shown)  # ``nan``, ``inf``: JSON has no such number
    if isinstance(shown, str):
        if len(shown) > MAX_VALUE_CHARS:
            shown = shown[:MAX_VALUE_CHARS] + "…"
        # a lone surrogate (``"\\ud800"`` in the request's JSON) cannot be sent back as UTF-8: echo it escaped
        shown = shown.encode("utf-8", "backslashreplace").decode("utf-8")
    return shown


def _reason(issue: Mapping[str, Any], lang: str) -> str:
    """Why the field was refused, in ``lang``: the catalogue's text for the error's type (pydantic's, or the custom
    type of one of the API's own checks), with the error's context as its values. A type the catalogue does not
    have keeps its own English words (a plain ``ValueError``'s without pydantic's ``Value error, ``)."""
    kind = str(issue.get("type", ""))
    said = str(issue.get("msg", ""))
    if kind == "value_error":
        return said.removeprefix("Value error, ")
    key = f"validation.type.{kind}"
    if key not in messages.catalogue():
        return said
    values = {name: _context_value(name, value, lang) for name, value in (issue.get("ctx") or {}).items()}
    return messages.t(key, lang, **values)


def _context_value(name: str, value: Any, lang: str) -> Any:
    """As pydantic shows it (``0`` for a bound of ``0.0``); the choices of ``expected`` joined by ``lang``'s "or"."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if name == "expected" and isinstance(value, str) and " or " in value:  # ``'a', 'b' or 'c'``
        head, _, last = value.rpartition(" or ")
        return f"{head} {messages.t('validation.or', lang)} {last}"
    return value


def from_validation(exc: RequestValidationError, lang: str = messages.DEFAULT_LANGUAGE) -> errors.SirenaError:
    issues = list(exc.errors())
    if any(issue.get("type") == "json_invalid" for issue in issues):
        return errors.MalformedJSON("error.malformed_json")
    listed = []
    depth = []
    for issue in issues:
        loc = _location(issue)
        depth.append((loc[:1], len(loc)))
        listed.append(
            {"field": ".".join(loc) or "body", "value": _echo(issue.get("input")), "reason": _reason(issue, lang)}
        )
    first: dict[str, Any] = {"field": "body", "value": None, "reason": ""}
    if listed:
        # of the issues about the first field, the one that went deepest: for a union, the member that was meant
        top = depth[0][0]
        chosen = max((i for i in range(len(listed)) if depth[i][0] == top), key=lambda i: (depth[i][1], -i))
        first = listed[chosen]
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


def _allowing_head(headers: dict[str, str]) -> dict[str, str]:
    """A 405's headers with ``HEAD`` beside a ``GET`` its ``Allow`` names (every GET path answers HEAD too, see
    :mod:`sirena.web.head`)."""
    for name, value in headers.items():
        if name.lower() == "allow":
            methods = [m.strip() for m in value.split(",") if m.strip()]
            if "GET" in methods and "HEAD" not in methods:
                methods.insert(methods.index("GET") + 1, "HEAD")
            headers[name] = ", ".join(methods)
    return headers


def install(app: FastAPI) -> None:
    async def on_sirena_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, errors.SirenaError)
        if exc.status >= 500:
            log.error("%s: %s", type(exc).__name__, exc)
        return render(exc, request, {"Retry-After": "2"} if isinstance(exc, errors.Unavailable) else None)

    async def on_validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        lang = messages.pick_language(request.headers.get("accept-language"))
        return render(from_validation(exc, lang), request)

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        if exc.status_code == 405:
            return render(MethodNotAllowed(), request, _allowing_head(dict(exc.headers or {})))
        cls = HTTP_ERRORS.get(exc.status_code, errors.SirenaError)
        return render(cls(), request, dict(exc.headers or {}))

    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return render(errors.SirenaError(), request)

    app.add_exception_handler(errors.SirenaError, on_sirena_error)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(Exception, on_unexpected)
