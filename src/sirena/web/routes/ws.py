"""The live stream over WebSocket: the same events, frames, filters and resume as the SSE stream.

Text frames, each one JSON object:

- server → client: ``{"type": "snapshot", "seq", "alerts"}`` on connect (not when resuming); then every change
  as ``{"seq", "type": "alert.issued" | …, "alert"}``, exactly the SSE ``data:``; ``{"type": "heartbeat",
  "seq"}`` when idle; ``{"type": "pong"}`` after a ping; ``{"type": "error", "problem": {...}}`` for a bad
  request, in the handshake's ``Accept-Language`` language, a channel that does not exist included
  (``/problems/channel-not-found``): a bad query or first message then closes the socket with 1008, a bad later
  message leaves the stream as it was.
- client → server: optionally ``{"regions": [...], "statuses": [...], "channels": [...], "last_seq": n}`` as the
  first message (within ``SIRENA_WS_HELLO_S``), which replaces the query filters, or at any later time to change
  them (a fresh snapshot follows, or the events after ``last_seq``); ``{"type": "ping"}`` at any time.

A client that falls too far behind is closed with code 1013 and resumes with ``last_seq`` (or ``?since_seq=``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Annotated, Any

from fastapi import APIRouter, Query, WebSocket
from starlette.websockets import WebSocketDisconnect, WebSocketState

from sirena import messages
from sirena.advisories.channels import check_channel_id
from sirena.domain.model import Status
from sirena.errors import SirenaError, ValidationFailed
from sirena.messages import Phrase
from sirena.protocol.alert_json import dumps, event_to_dict
from sirena.runtime import Runtime
from sirena.stream import EventFilter, live
from sirena.web.deps import check_regions, enums
from sirena.web.problems import problem_body
from sirena.web.routes.stream import stream_filter

router = APIRouter(prefix="/api/v1", tags=["stream"])

CLOSE_POLICY = 1008
CLOSE_TRY_AGAIN = 1013
DATA_MARK = b"\ndata: "


def event_text(item: live.EventItem) -> str:
    """The event's JSON, taken from the SSE frame the hub already encoded (its one ``data:`` line)."""
    frame = item.frame
    start = frame.find(DATA_MARK)
    if start < 0 or b"\ndata: " in frame[start + len(DATA_MARK) :]:
        return dumps(event_to_dict(item.event))
    return frame[start + len(DATA_MARK) :].rstrip(b"\n").decode()


def _refused(field: str, kind: str) -> ValidationFailed:
    """``field`` of a client message is not what it should be; the reason is the catalogue's
    ``validation.type.<kind>``, said in the client's language, as for a request's body."""
    return ValidationFailed("error.validation_field", field=field, reason=Phrase(f"validation.type.{kind}"))


def subscription(rt: Runtime, data: Any) -> tuple[EventFilter, int | None] | None:
    """A client message that sets filters, as a filter and resume point; None for any other message. A malformed
    one is refused with its reason (said in the client's language when its problem is sent)."""
    if not isinstance(data, dict) or not ({"regions", "statuses", "channels", "last_seq"} & data.keys()):
        return None
    regions = data.get("regions")
    if regions is not None and (not isinstance(regions, list) or not all(isinstance(r, str) for r in regions)):
        raise _refused("regions", "region_list")
    statuses = data.get("statuses")
    if statuses is not None and (not isinstance(statuses, list) or not all(isinstance(s, str) for s in statuses)):
        raise _refused("statuses", "status_list")
    channels = data.get("channels")
    if channels is not None and (not isinstance(channels, list) or not all(isinstance(c, str) for c in channels)):
        raise _refused("channels", "channel_list")
    last_seq = data.get("last_seq")
    if last_seq is not None and (isinstance(last_seq, bool) or not isinstance(last_seq, int) or last_seq < 0):
        raise _refused("last_seq", "sequence_number")
    if regions is not None:
        check_regions(rt, regions, "regions")
    status_set = frozenset(Status) if statuses == ["all"] else enums(Status, statuses or ["actual"], "statuses")
    channel_ids = [check_channel_id(c, "channels") for c in channels or ()]
    return EventFilter.build(rt.registry, regions, status_set, channel_ids), last_seq


class _Connection:
    def __init__(self, websocket: WebSocket, rt: Runtime) -> None:
        self.ws = websocket
        self.rt = rt
        self.lang = messages.pick_language(websocket.headers.get("accept-language"))
        self._lock = asyncio.Lock()
        self.last_seq = 0

    async def send(self, text: str) -> None:
        async with self._lock:
            await self.ws.send_text(text)

    async def send_error(self, error: SirenaError) -> None:
        await self.send(dumps({"type": "error", "problem": problem_body(error, self.lang, self.ws.url.path)}))

    async def receive(self, within: float | None = None) -> Any:
        """The next client message parsed as JSON (a non-JSON text is returned as is); raises
        ``WebSocketDisconnect`` when the client has gone."""
        if within:
            async with asyncio.timeout(within):
                message = await self.ws.receive()
        else:
            message = await self.ws.receive()
        if message["type"] == "websocket.disconnect":
            raise WebSocketDisconnect(message.get("code", 1000))
        text = message.get("text")
        if text is None and message.get("bytes") is not None:
            text = message["bytes"].decode(errors="replace")
        try:
            return json.loads(text or "")
        except ValueError:
            return text

    async def stream(self, flt: EventFilter, last_id: int | None) -> None:
        """Send the session's items until the hub ends it."""
        items = live.session(self.rt.store, self.rt.hub, flt, last_id, self.rt.settings.stream_heartbeat_s)
        try:
            async for item in items:
                if item is None:
                    await self.send(dumps({"type": "heartbeat", "seq": self.last_seq}))
                elif isinstance(item, live.SnapshotItem):
                    self.last_seq = item.seq
                    await self.send(dumps({"type": "snapshot", "seq": item.seq, "alerts": item.alerts}))
                else:
                    self.last_seq = item.event.seq
                    await self.send(event_text(item))
        finally:
            await items.aclose()

    async def answer(self, data: Any) -> tuple[EventFilter, int | None] | None:
        """Reply to a ping; return new filters when the message sets them."""
        if (isinstance(data, dict) and data.get("type") == "ping") or data == "ping":
            reply: dict[str, Any] = {"type": "pong"}
            if isinstance(data, dict) and "id" in data:
                reply["id"] = data["id"]
            await self.send(dumps(reply))
            return None
        try:
            found = subscription(self.rt, data)
            if found is not None:
                await self.rt.advisories.channels.require(found[0].channels)
        except SirenaError as exc:
            await self.send_error(exc)
            return None
        if found is None:
            await self.send_error(ValidationFailed("error.ws_message", field="message"))
        return found


@router.websocket("/ws")
async def websocket_stream(
    websocket: WebSocket,
    regions: Annotated[str | None, Query(description="Comma-separated region ids; descendants included.")] = None,
    statuses: Annotated[
        str | None, Query(description="Comma-separated: actual (default), exercise, test, all.")
    ] = None,
    channels: Annotated[str | None, Query(description="Comma-separated channel ids, besides public ones.")] = None,
    since_seq: Annotated[int | None, Query(ge=0, description="Resume after this sequence number.")] = None,
) -> None:
    rt: Runtime = websocket.app.state.runtime
    await websocket.accept()
    conn = _Connection(websocket, rt)
    metrics = rt.delivery.metrics
    metrics.ws_clients.inc()
    writer: asyncio.Task[None] | None = None
    receiver: asyncio.Task[Any] | None = None
    try:
        try:
            flt, last_id = stream_filter(rt, regions, statuses, channels), since_seq
            await rt.advisories.channels.require(flt.channels)
        except SirenaError as exc:
            await conn.send_error(exc)
            await websocket.close(CLOSE_POLICY)
            return
        hello: Any = None
        with contextlib.suppress(TimeoutError):
            hello = await conn.receive(rt.settings.ws_hello_s)
        if hello is not None:
            try:
                chosen = subscription(rt, hello)
                if chosen is not None:
                    await rt.advisories.channels.require(chosen[0].channels)
            except SirenaError as exc:
                await conn.send_error(exc)
                await websocket.close(CLOSE_POLICY)
                return
            if chosen is not None:
                flt, last_id = chosen
            else:
                await conn.answer(hello)
        writer = asyncio.create_task(conn.stream(flt, last_id))
        while True:
            receiver = asyncio.create_task(conn.receive())
            done, _ = await asyncio.wait({writer, receiver}, return_when=asyncio.FIRST_COMPLETED)
            if writer in done:
                writer.result()
                await websocket.close(CLOSE_TRY_AGAIN, "resume with last_seq")
                return
            changed = await conn.answer(receiver.result())
            receiver = None
            if changed is not None:
                writer.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await writer
                writer = asyncio.create_task(conn.stream(*changed))
    except WebSocketDisconnect:
        return
    finally:
        metrics.ws_clients.dec()
        for task in (writer, receiver):
            if task is not None and not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect):
                    await task
        if websocket.client_state is WebSocketState.CONNECTED:
            with contextlib.suppress(Exception):
                await websocket.close()
