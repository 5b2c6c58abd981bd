"""The front door of ``sirena serve``: a uvicorn HTTP protocol class that serves the live streams itself (SSE at
``/api/v1/stream``, WebSocket at ``/api/v1/ws``, see :mod:`sirena.web.front_ws`) and hands every other request
to uvicorn's own protocol (and so to the ASGI app).

A stream connection is answered with a plain ``text/event-stream`` body (no chunked encoding, ``Connection:
close``), so every client receives byte-identical frames that the hub encodes once and writes straight to the
transports. The ASGI routes stay for servers without this front (tests through ASGI, other ASGI servers); both
share the filters, resume rules and frames.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from uvicorn.protocols.http.auto import AutoHTTPProtocol

from sirena import messages
from sirena.errors import SirenaError, ValidationFailed
from sirena.messages import Phrase
from sirena.protocol import sse
from sirena.stream.direct import catch_up
from sirena.stream.hub import DirectClient
from sirena.web.front_ws import WebSocketSession, wants_websocket
from sirena.web.problems import MEDIA_TYPE, problem_body

if TYPE_CHECKING:
    from sirena.runtime import Runtime
    from sirena.stream import EventFilter

log = logging.getLogger("sirena.web")
STREAM_PATH = b"/api/v1/stream"
MAX_HEAD = 16 * 1024
STREAM_HEAD = (
    b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream; charset=utf-8\r\ncache-control: no-cache\r\n"
    b"x-accel-buffering: no\r\nconnection: close\r\n\r\n"
)


class FrontProtocol(asyncio.Protocol):
    """One per TCP connection; constructed by uvicorn with the same arguments as its own protocols."""

    def __init__(
        self, config: Any, server_state: Any, app_state: dict[str, Any], _loop: asyncio.AbstractEventLoop | None = None
    ) -> None:
        self.config = config
        self.server_state = server_state
        self.app_state = app_state
        self.loop = _loop
        self.transport: asyncio.Transport | None = None
        self.head = bytearray()
        self.client: DirectClient | None = None
        self.session: WebSocketSession | None = None
        self.runtime: Runtime | None = None
        self.streaming = False

    # -- asyncio.Protocol -----------------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        if self.session is not None:
            self.session.data_received(data)
            return
        if self.streaming:
            return  # a stream client has nothing more to say; its requests end with the connection
        self.head += data
        end = self.head.find(b"\r\n\r\n")
        if end < 0:
            if len(self.head) > MAX_HEAD:
                self._hand_over()
            return
        line, _, rest = bytes(self.head[:end]).partition(b"\r\n")
        method, _, target = line.partition(b" ")
        target = target.rpartition(b" ")[0] or target
        path, _, query = target.partition(b"?")
        headers = _headers(rest)
        if method == b"GET" and path == STREAM_PATH and "upgrade" not in headers:
            self._start_stream(query.decode("latin-1"), headers)
        elif wants_websocket(method, path, headers):
            self._start_websocket(query.decode("latin-1"), headers)
        else:
            self._hand_over()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.session is not None:
            self.session.connection_lost()
        if self.client is not None and self.runtime is not None:
            self.runtime.hub.detach(self.client)
        self.server_state.connections.discard(self)

    def shutdown(self) -> None:
        """Called by uvicorn on graceful shutdown: tell the client when to come back, then close."""
        if self.session is not None:
            self.session.shutdown()
        elif self.transport is not None and not self.transport.is_closing():
            if self.client is not None:  # (none yet while its channels are looked up: nothing was sent)
                retry = self.runtime.settings.stream_retry_ms if self.runtime else 2000
                self.transport.write(sse.retry(retry))
            self.transport.close()

    # -- the two paths --------------------------------------------------------------------------------------

    def _hand_over(self) -> None:
        assert self.transport is not None
        protocol = AutoHTTPProtocol(  # type: ignore[call-arg]
            config=self.config, server_state=self.server_state, app_state=self.app_state, _loop=self.loop
        )
        self.transport.set_protocol(protocol)
        protocol.connection_made(self.transport)
        protocol.data_received(bytes(self.head))
        self.head = bytearray()

    def _start_stream(self, query: str, headers: dict[str, str]) -> None:
        from sirena.web.routes.stream import resume_point, stream_filter

        assert self.transport is not None
        rt: Runtime = self.config.app.state.runtime
        params = {k: v[-1] for k, v in parse_qs(query, keep_blank_values=True).items()}
        try:
            flt = stream_filter(rt, params.get("regions"), params.get("statuses"), params.get("channels"))
            last = resume_point(headers.get("last-event-id"), since_value(params.get("since_seq")))
        except SirenaError as exc:
            self._refuse(exc, headers)
            return
        self.runtime = rt
        self.streaming = True
        self.server_state.connections.add(self)
        if not flt.channels or rt.advisories.channels.seen(flt.channels):
            self._open_stream(rt, flt, last)
        else:  # a channel this process has not seen: read the store (another node may have created it)
            self._spawn(self._open_when_known(rt, flt, last, headers))

    def _open_stream(self, rt: Runtime, flt: EventFilter, last: int | None) -> None:
        assert self.transport is not None
        head = STREAM_HEAD if rt.siblings is None else worker_head(rt.siblings.index)
        self.transport.write(head + sse.retry(rt.settings.stream_retry_ms))
        self.client = rt.hub.attach(self.transport, flt)
        self._spawn(self._catch_up(rt, self.client, last))

    async def _open_when_known(self, rt: Runtime, flt: EventFilter, last: int | None, headers: dict[str, str]) -> None:
        assert self.transport is not None
        try:
            await rt.advisories.channels.require(flt.channels)
        except Exception as exc:  # the client gets a problem, whatever went wrong
            if not isinstance(exc, SirenaError):
                log.exception("stream: looking up channels failed")
            if not self.transport.is_closing():
                self._refuse(exc if isinstance(exc, SirenaError) else SirenaError(), headers)
            return
        if not self.transport.is_closing():
            self._open_stream(rt, flt, last)

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self.server_state.tasks.add(task)
        task.add_done_callback(self.server_state.tasks.discard)

    def _start_websocket(self, query: str, headers: dict[str, str]) -> None:
        assert self.transport is not None
        rt: Runtime = self.config.app.state.runtime
        self.runtime = rt
        self.server_state.connections.add(self)
        self.session = WebSocketSession(rt, self.transport, self.server_state.tasks)
        raw, self.head = bytes(self.head), bytearray()
        self.session.start(raw, query, headers)

    async def _catch_up(self, rt: Runtime, client: DirectClient, last: int | None) -> None:
        try:
            await catch_up(rt.hub, rt.store, client, last)
        except SirenaError:
            rt.hub.detach(client)
            client.transport.close()

    def _refuse(self, error: SirenaError, headers: dict[str, str]) -> None:
        assert self.transport is not None
        lang = messages.pick_language(headers.get("accept-language"))
        body = json.dumps(problem_body(error, lang, STREAM_PATH.decode())).encode()
        head = (
            f"HTTP/1.1 {error.status} {error.title('en')}\r\ncontent-type: {MEDIA_TYPE}\r\n"
            f"content-length: {len(body)}\r\nconnection: close\r\n\r\n"
        ).encode()
        self.transport.write(head + body)
        self.transport.close()


@functools.cache
def worker_head(index: int) -> bytes:
    """The stream's response head naming the worker process that serves it (``sirena serve --workers N``)."""
    return STREAM_HEAD[:-2] + b"x-sirena-worker: %d\r\n\r\n" % index


def _headers(block: bytes) -> dict[str, str]:
    out: dict[str, str] = {}
    for raw in block.split(b"\r\n"):
        name, sep, value = raw.partition(b":")
        if sep:
            out[name.strip().lower().decode("latin-1")] = value.strip().decode("latin-1")
    return out


def since_value(value: str | None) -> int | None:
    """``since_seq`` from a query string."""
    if value is None or value == "":
        return None
    if not value.isdigit():
        raise ValidationFailed(
            "error.validation_field", field="since_seq", reason=Phrase("validation.type.sequence_number")
        )
    return int(value)
