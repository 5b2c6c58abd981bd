"""CAP over HTTP: ingest a CAP document, read any alert as CAP 1.2 XML or CAP-JSON, and the Atom feed.

Included before the alerts router, so that ``/api/v1/alerts/{id}.cap`` is not taken for an alert id.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime
from email.utils import format_datetime, parsedate_to_datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response

from sirena import messages
from sirena.auth.policy import Action
from sirena.auth.principal import Principal
from sirena.cap.storage import sql
from sirena.domain.model import AlertState, Status
from sirena.protocol.cap.atom import MIME_ATOM
from sirena.protocol.cap.vocabulary import MIME_CAP_XML
from sirena.service import WriteContext
from sirena.store import cap as sql_cap
from sirena.store.base import WriteHook
from sirena.web.deps import acting, enums, require_principal, runtime, split

router = APIRouter(tags=["cap"])

CAP_BODY = {
    "content": {
        MIME_CAP_XML: {"schema": {"type": "string"}},
        "application/xml": {"schema": {"type": "string"}},
        "application/atom+xml": {"schema": {"type": "string"}},
        "application/json": {"schema": {"type": "object"}},
    },
    "required": True,
}


def etag_of(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def _matches(header: str, tag: str) -> bool:
    wanted = [part.strip().removeprefix("W/") for part in header.split(",")]
    return "*" in wanted or tag in wanted


def not_modified(request: Request, tag: str, last_modified: datetime | None) -> bool:
    """RFC 9110: ``If-None-Match`` decides when sent; otherwise ``If-Modified-Since`` (to the second)."""
    inm = request.headers.get("if-none-match")
    if inm is not None:
        return _matches(inm, tag)
    ims = request.headers.get("if-modified-since")
    if ims is None or last_modified is None:
        return False
    try:
        since = parsedate_to_datetime(ims)
    except (TypeError, ValueError):
        return False
    if since.tzinfo is None:
        return False
    return last_modified.replace(microsecond=0) <= since


def conditional(
    request: Request, body: bytes, media_type: str, last_modified: datetime | None = None, vary: str | None = None
) -> Response:
    """``body`` with ``ETag`` (and ``Last-Modified``), or ``304 Not Modified`` when the client has it already."""
    tag = etag_of(body)
    headers = {"ETag": tag, "Cache-Control": "no-cache"}
    if vary:
        headers["Vary"] = vary
    if last_modified is not None:
        headers["Last-Modified"] = format_datetime(last_modified.replace(microsecond=0), usegmt=True)
    if not_modified(request, tag, last_modified):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=media_type, headers=headers)


@router.post(
    "/api/v1/cap",
    summary="Ingest a CAP document",
    openapi_extra={"requestBody": CAP_BODY},
    response_description="The ingest report, what each message did, and the alerts it created or changed.",
)
async def ingest_cap(request: Request, who: Annotated[Principal, Depends(require_principal)]) -> JSONResponse:
    """Ingest CAP 1.0–1.2 XML, CAP-JSON, or an Atom/RSS feed or EDXL-DE distribution embedding CAP. Each message
    is applied along its chain: `Alert` issues, `Update` updates (or ends, with `AllClear`), `Cancel` cancels the
    alert of the message it references, within your role and scope. The answer is the report (`format`, `version`,
    `schema_valid`, `errors`, `warnings`, `repairs`, `signature`, `alerts`, `links`), `alert_ids` and `messages`
    (one outcome per message). Input that is not CAP or not safe, or that carries no CAP message (only links), is a
    4xx problem and nothing is stored."""
    rt = runtime(request)
    data = await request.body()

    def context(action: str, details: Mapping[str, Any], hook: WriteHook) -> WriteContext:
        return acting(request, who, Action(action), details=details, also=hook)

    result = await rt.cap.gateway.ingest(data, origin=f"api:{who.actor}", context=context, own_references=True)
    return JSONResponse(result.to_json())


async def _cap_message(request: Request, alert_id: str, version: int | None) -> Any:
    rt = runtime(request)
    alert = await rt.cap.writer.alert(alert_id, version)
    return await rt.cap.writer.message(alert)


@router.get(
    "/api/v1/alerts/{alert_id}.cap",
    summary="An alert as CAP 1.2 XML",
    response_class=Response,
    responses={200: {"content": {MIME_CAP_XML: {}}}},
)
async def alert_cap(request: Request, alert_id: str, version: Annotated[int | None, Query(ge=1)] = None) -> Response:
    """The alert (or one `version` of it) as a CAP 1.2 message, valid against the OASIS schema and signed with
    XML-DSig when Sirena has a signing key. `ETag` and `If-None-Match` are supported."""
    rt = runtime(request)
    body = rt.cap.writer.xml_bytes(await _cap_message(request, alert_id, version))
    return conditional(request, body, MIME_CAP_XML)


@router.get("/api/v1/alerts/{alert_id}.cap.json", summary="An alert as CAP-JSON", response_class=Response)
async def alert_cap_json(
    request: Request, alert_id: str, version: Annotated[int | None, Query(ge=1)] = None
) -> Response:
    """The same message as CAP-JSON, in the shape of Germany's NINA API (repeatable elements are arrays)."""
    rt = runtime(request)
    body = rt.cap.writer.json_bytes(await _cap_message(request, alert_id, version))
    return conditional(request, body, "application/json")


@router.get(
    "/cap/feed.atom",
    summary="Atom feed of active alerts",
    response_class=Response,
    responses={200: {"content": {MIME_ATOM: {}}}},
)
async def cap_feed(
    request: Request,
    region: Annotated[str | None, Query(max_length=64, description="Alerts touching this region.")] = None,
    statuses: Annotated[str | None, Query(description="Comma-separated: actual, exercise, test, or all.")] = None,
    lang: Annotated[str | None, Query(max_length=16)] = None,
) -> Response:
    """Active alerts as Atom entries linking to their CAP (`application/cap+xml`) and CAP-JSON, followed by current
    public advisories, the situation reports of active alerts and current all-clears. `region` includes its
    descendants and ancestors, as in the alerts list. `Last-Modified` is the time of the last
    change to any alert; `ETag`, `If-None-Match` and `If-Modified-Since` are supported."""
    rt = runtime(request)
    wanted = split(statuses)
    status_set = None if wanted == ["all"] else enums(Status, wanted or ["actual"], "statuses")
    language = lang if lang in messages.LANGUAGES else messages.pick_language(request.headers.get("accept-language"))
    _, changed = await sql(rt.store).read(sql_cap.last_change)
    alerts = await rt.service.find(
        states=frozenset({AlertState.ACTIVE}), region=region, statuses=status_set, limit=10_000
    )
    base = str(request.base_url).rstrip("/")
    near = (
        None
        if region is None
        else frozenset({region, *rt.registry.descendants(region), *rt.registry.ancestors(region)})
    )
    extra = await rt.advisories.feed_entries(
        base=base, sender=rt.cap.config.sender, lang=language, statuses=status_set, regions=near
    )
    body = rt.cap.writer.feed(
        alerts, base_url=base, self_url=str(request.url), lang=language, updated=changed, extra=extra
    )
    return conditional(request, body, MIME_ATOM, changed, vary="Accept-Language")
