"""The coordination line between issuers: private messages that addressees acknowledge (JSON or CAP ``Ack``), and
a live stream of the caller's own messages. Every call is authenticated; nobody else ever sees a message."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Header, Query, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from sirena.advisories.access import is_admin
from sirena.advisories.cap import message_to_cap, read_ack
from sirena.advisories.coordination import receipt_flag
from sirena.auth.principal import Principal
from sirena.domain.model import Status
from sirena.domain.notice import Notice, NoticeType
from sirena.protocol import sse
from sirena.protocol.cap.vocabulary import MIME_CAP_XML
from sirena.runtime import Runtime
from sirena.stream import EventFilter, live
from sirena.stream.filter import EVERY_INBOX
from sirena.web.deps import require_principal, runtime
from sirena.web.routes.cap import CAP_BODY
from sirena.web.routes.channels import refusals
from sirena.web.routes.stream import resume_point

router = APIRouter(prefix="/api/v1/coordination", tags=["coordination"])

Caller = Annotated[Principal, Depends(require_principal)]
UserName = Annotated[str, StringConstraints(min_length=1, max_length=64)]


class MessageIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    to: Annotated[list[UserName], Field(min_length=1, max_length=20)] = Field(description="User names.")
    text: Annotated[str, StringConstraints(min_length=1, max_length=4000)]
    alert_id: Annotated[str, StringConstraints(max_length=64)] | None = None
    status: Status = Status.ACTUAL


class AckIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: Annotated[str, StringConstraints(max_length=1000)] | None = None


@router.post("", status_code=201, summary="Send a coordination message")
async def send_message(request: Request, body: Annotated[MessageIn, Body()], who: Caller) -> JSONResponse:
    """To other users (operators or above may send). Each addressee must acknowledge; see the receipts."""
    rt = runtime(request)
    async with refusals(request, who, "coordination.send"):
        message = await rt.advisories.line.send(who, body.to, body.text, alert_id=body.alert_id, status=body.status)
    return JSONResponse(message, status_code=201, headers={"Location": f"{router.prefix}/{message['id']}"})


@router.get("", summary="Your coordination messages")
async def list_messages(
    request: Request,
    who: Caller,
    box: Literal["inbox", "outbox", "all"] = "inbox",
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    """`inbox` (sent to you, or escalated to you), `outbox` (sent by you) or `all` (administrators: every
    message). Listing your inbox marks your receipts delivered."""
    return {"messages": await runtime(request).advisories.line.box(who, box, limit)}


async def _events(rt: Runtime, who: Principal, flt: EventFilter, last_id: int) -> AsyncIterator[bytes]:
    yield sse.retry(rt.settings.stream_retry_ms)
    items = live.session(rt.store, rt.hub, flt, last_id, rt.settings.stream_heartbeat_s)
    try:
        async for item in items:
            if item is None:
                yield sse.comment("heartbeat")
            elif isinstance(item, live.EventItem):
                yield item.frame
                event = item.event
                if (
                    isinstance(event, Notice)
                    and event.type in {NoticeType.COORDINATION_SENT, NoticeType.COORDINATION_ESCALATED}
                    and receipt_flag(dict(event.body), who.name, "delivered_at") is False
                ):
                    await rt.advisories.line.delivered(who, str(event.body["id"]))
    finally:
        await items.aclose()


@router.get(
    "/stream",
    summary="Live coordination messages (Server-Sent Events)",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def stream(
    request: Request,
    who: Caller,
    last_event_id: Annotated[str | None, Header()] = None,
    since_seq: Annotated[int | None, Query(ge=0, description="Resume after this sequence number.")] = None,
) -> StreamingResponse:
    """`coordination.sent`, `.delivered`, `.read`, `.acknowledged` and `.escalated` of the messages you take part
    in (administrators: every message), each with the message as it stands, `id:` = sequence number. Showing you
    a message sent or escalated to you marks your receipt delivered. Resume with `Last-Event-ID`."""
    rt = runtime(request)
    flt = EventFilter(statuses=frozenset(Status), inbox=EVERY_INBOX if is_admin(who) else who.name)
    start = resume_point(last_event_id, since_seq)
    if start is None:
        start = await rt.store.last_seq()
    return StreamingResponse(
        _events(rt, who, flt, start),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


@router.post(
    "/cap",
    summary="Acknowledge with a CAP Ack",
    openapi_extra={"requestBody": CAP_BODY},
)
async def acknowledge_cap(request: Request, who: Caller) -> dict[str, Any]:
    """A CAP 1.2 `Ack` whose `references` name the message's CAP identifier
    (`urn:sirena:<sender>:coordination:<id>`); its `note` is kept. Who acknowledges is you, whatever the Ack's
    `sender` says."""
    rt = runtime(request)
    message_id, note = read_ack(await request.body(), sender=rt.cap.config.sender, max_bytes=rt.cap.config.max_bytes)
    async with refusals(request, who, "coordination.acknowledge", f"coordination:{message_id}"):
        return await rt.advisories.line.acknowledge(who, message_id, note=note, via="cap")


@router.get(
    "/{message_id}.cap",
    summary="A coordination message as CAP 1.2 XML",
    response_class=Response,
    responses={200: {"content": {MIME_CAP_XML: {}}}},
)
async def message_cap(request: Request, message_id: str, who: Caller) -> Response:
    """`scope` `Private`, `addresses` its addressees; answer with an `Ack` referencing it."""
    rt = runtime(request)
    message = await rt.advisories.line.get(who, message_id)
    body = rt.cap.writer.xml_bytes(message_to_cap(message, sender=rt.cap.config.sender))
    return Response(body, media_type=MIME_CAP_XML, headers={"Cache-Control": "private, no-store"})


@router.get("/{message_id}", summary="Read a coordination message and its receipts")
async def get_message(request: Request, message_id: str, who: Caller) -> dict[str, Any]:
    return await runtime(request).advisories.line.get(who, message_id)


@router.post("/{message_id}/read", summary="Mark a coordination message read")
async def read_message(request: Request, message_id: str, who: Caller) -> dict[str, Any]:
    return await runtime(request).advisories.line.read(who, message_id)


@router.post("/{message_id}/ack", summary="Acknowledge a coordination message")
async def acknowledge(
    request: Request, message_id: str, who: Caller, body: Annotated[AckIn | None, Body()] = None
) -> dict[str, Any]:
    """As an addressee, for an addressee it was escalated to you for, or (administrators) for everyone."""
    rt = runtime(request)
    async with refusals(request, who, "coordination.acknowledge", f"coordination:{message_id}"):
        return await rt.advisories.line.acknowledge(who, message_id, note=body.note if body else None)
