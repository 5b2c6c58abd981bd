"""WebSocket clients of the front: ``GET /api/v1/ws`` served without ASGI, with the behaviour of the ASGI route
(:mod:`sirena.web.routes.ws`, documented there): query filters, a first message that replaces them, resume with
``last_seq``, pings, heartbeats, error frames as problem documents, close 1008 after a bad query and 1013 for a
client that falls behind.

The handshake, incoming frames, protocol pings and the closing handshake go through the ``websockets`` library's
sans-I/O ``ServerProtocol``. Live events do not: a server's frames are unmasked and no extension is negotiated,
so the hub writes each event's frame, encoded once, straight to every client's transport, as it does for SSE.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from websockets.frames import Frame, Opcode
from websockets.http11 import Request
from websockets.protocol import OPEN
from websockets.server import ServerProtocol

from sirena import messages
from sirena.errors import SirenaError, ValidationFailed
from sirena.protocol import ws
from sirena.protocol.alert_json import dumps
from sirena.stream import EventFilter
from sirena.stream.direct import catch_up
from sirena.stream.hub import WS, DirectClient
from sirena.web.problems import problem_body

if TYPE_CHECKING:
    from sirena.runtime import Runtime

log = logging.getLogger("sirena.web")
WS_PATH = b"/api/v1/ws"
CLOSE_POLICY = 1008
CLOSE_ERROR = 1011
CLOSE_RESTART = 1012
CLOSE_TRY_AGAIN = 1013
RESUME = "resume with last_seq"
CLOSE_WAIT_S = 5.0
"""After sending a close frame: how long the client has to answer before the connection is dropped."""
MAX_MESSAGE = 65_536
"""Largest message a client may send (filters, pings); a larger one closes the socket with 1009."""


def wants_websocket(method: bytes, path: bytes, headers: dict[str, str]) -> bool:
    return method == b"GET" and path == WS_PATH and "websocket" in headers.get("upgrade", "").lower()


class WebSocketSession:
    """One WebSocket connection served by the front."""

    def __init__(self, rt: Runtime, transport: asyncio.Transport, tasks: set[asyncio.Task[None]]) -> None:
        self.rt = rt
        self.transport = transport
        self.tasks = tasks
        self.proto = ServerProtocol(max_size=MAX_MESSAGE)
        self.lang = messages.DEFAULT_LANGUAGE
        self.client: DirectClient | None = None
        self.task: asyncio.Task[None] | None = None
        self.check: asyncio.Task[None] | None = None
        """Looking up channels this process has not seen; client messages wait in ``backlog`` meanwhile."""
        self.backlog: deque[Any] = deque()
        self.hello_timer: asyncio.TimerHandle | None = None
        self.close_timer: asyncio.TimerHandle | None = None
        self.waiting_hello = False
        self.fragments: list[bytes] = []
        self.fragment_text = True
        self.opened = False
        self.ended = False
        self.query: tuple[EventFilter, int | None] | None = None

    # -- the connection -------------------------------------------------------------------------------------

    def start(self, raw: bytes, query: str, headers: dict[str, str]) -> None:
        """Answer the handshake in ``raw`` (the request head and anything after it)."""
        from sirena.web.front import since_value
        from sirena.web.routes.stream import stream_filter

        self.lang = messages.pick_language(headers.get("accept-language"))
        self.proto.receive_data(raw)
        events = self.proto.events_received()
        if not events or not isinstance(events[0], Request):
            self.flush()
            return
        self.proto.send_response(self.proto.accept(events[0]))
        self.flush()
        if self.proto.state is not OPEN:
            return
        self.opened = True
        self.rt.delivery.metrics.ws_clients.inc()
        params = {k: v[-1] for k, v in parse_qs(query, keep_blank_values=True).items()}
        try:
            self.query = (
                stream_filter(self.rt, params.get("regions"), params.get("statuses"), params.get("channels")),
                since_value(params.get("since_seq")),
            )
        except SirenaError as exc:
            self._refuse(exc)
            return
        self._when_known(self.query[0], self._await_hello, self._refuse)
        self._handle(events[1:])

    def _await_hello(self) -> None:
        """Wait ``ws_hello_s`` for a first message that replaces the query's filters, or stream them now."""
        assert self.query is not None
        hello_s = self.rt.settings.ws_hello_s
        if hello_s > 0:
            self.waiting_hello = True
            self.hello_timer = asyncio.get_running_loop().call_later(hello_s, self._no_hello)
        else:
            self.stream(*self.query)

    def data_received(self, data: bytes) -> None:
        if self.ended:
            return
        self.proto.receive_data(data)
        self._handle(self.proto.events_received())

    def connection_lost(self) -> None:
        self._end()
        if self.close_timer is not None:
            self.close_timer.cancel()
            self.close_timer = None
        if self.opened:
            self.opened = False
            self.rt.delivery.metrics.ws_clients.dec()

    def shutdown(self) -> None:
        """The server is stopping (uvicorn's graceful shutdown)."""
        self.close(CLOSE_RESTART)
        self.transport.close()

    def flush(self) -> None:
        for data in self.proto.data_to_send():
            if data:
                self.transport.write(data)
            else:  # end of stream: the server closes the TCP connection
                self._end()
                self.transport.close()

    # -- called by the hub ----------------------------------------------------------------------------------

    def cut_off(self) -> None:
        self.client = None
        self.close(CLOSE_TRY_AGAIN, RESUME)

    def going_away(self) -> None:
        self.client = None
        self.close(CLOSE_TRY_AGAIN, RESUME)

    # -- messages -------------------------------------------------------------------------------------------

    def _handle(self, events: list[Any]) -> None:
        self.backlog.extend(events)
        while self.backlog and self.check is None:
            event = self.backlog.popleft()
            if not isinstance(event, Frame) or event.opcode not in (Opcode.TEXT, Opcode.BINARY, Opcode.CONT):
                continue  # pings are answered and closes echoed by the protocol object itself
            if event.opcode is not Opcode.CONT:
                self.fragments = []
                self.fragment_text = event.opcode is Opcode.TEXT
            self.fragments.append(bytes(event.data))
            if event.fin:
                whole = b"".join(self.fragments)
                self.fragments = []
                self._message(whole, self.fragment_text)
        self.flush()

    def _message(self, payload: bytes, is_text: bool) -> None:
        if self.ended or self.proto.state is not OPEN:
            return
        try:
            text = payload.decode() if is_text else payload.decode(errors="replace")
        except UnicodeDecodeError:
            self.close(1007, "invalid UTF-8")
            return
        data: Any
        try:
            data = json.loads(text or "")
        except ValueError:
            data = text
        if self.waiting_hello:
            self._hello(data)
        else:
            self._answer(data)

    def _no_hello(self) -> None:
        self.hello_timer = None
        if self.waiting_hello and not self.ended and self.query is not None:
            self.waiting_hello = False
            self.stream(*self.query)

    def _hello(self, data: Any) -> None:
        from sirena.web.routes.ws import subscription

        self.waiting_hello = False
        if self.hello_timer is not None:
            self.hello_timer.cancel()
            self.hello_timer = None
        assert self.query is not None
        chosen = None
        if data is not None:
            try:
                chosen = subscription(self.rt, data)
            except SirenaError as exc:
                self._refuse(exc)
                return
            if chosen is None:
                self._answer(data)
        if chosen is None:
            self.stream(*self.query)
        else:
            self._when_known(chosen[0], functools.partial(self.stream, *chosen), self._refuse)

    def _answer(self, data: Any) -> None:
        """Reply to a ping; new filters restart the stream (a fresh snapshot, or the events after last_seq)."""
        from sirena.web.routes.ws import subscription

        if (isinstance(data, dict) and data.get("type") == "ping") or data == "ping":
            reply: dict[str, Any] = {"type": "pong"}
            if isinstance(data, dict) and "id" in data:
                reply["id"] = data["id"]
            self.send(dumps(reply))
            return
        try:
            found = subscription(self.rt, data)
        except SirenaError as exc:
            self.send_error(exc)
            return
        if found is None:
            self.send_error(ValidationFailed("error.ws_message", field="message"))
            return
        self._when_known(found[0], functools.partial(self.stream, *found), self.send_error)

    def _when_known(self, flt: EventFilter, then: Callable[[], None], refused: Callable[[SirenaError], None]) -> None:
        """``then()`` once every channel ``flt`` names is known to exist, ``refused(error)`` for one that does not.
        A channel this process has not seen is read from the store (another node may have created it); client
        messages that arrive meanwhile wait, so they are answered in order."""
        if not flt.channels or self.rt.advisories.channels.seen(flt.channels):
            then()
            return
        task = self.check = asyncio.get_running_loop().create_task(self._check(flt, then, refused))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _check(self, flt: EventFilter, then: Callable[[], None], refused: Callable[[SirenaError], None]) -> None:
        try:
            await self.rt.advisories.channels.require(flt.channels)
        except Exception as exc:  # the client gets a problem, whatever went wrong
            if not isinstance(exc, SirenaError):
                log.exception("websocket: looking up channels failed")
            self.check = None
            refused(exc if isinstance(exc, SirenaError) else SirenaError())
        else:
            self.check = None
            then()
        self._handle([])

    # -- sending --------------------------------------------------------------------------------------------

    def stream(self, flt: EventFilter, last_id: int | None) -> None:
        """(Re)start the live stream: snapshot or missed events from the store, then the hub's frames."""
        self._stop_stream()
        hub = self.rt.hub
        client = self.client = hub.attach(self.transport, flt, WS, self)
        task = self.task = asyncio.get_running_loop().create_task(self._catch_up(client, last_id))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _catch_up(self, client: DirectClient, last_id: int | None) -> None:
        try:
            await catch_up(self.rt.hub, self.rt.store, client, last_id)
        except SirenaError:
            if client is self.client:
                self.close(CLOSE_ERROR)

    def send(self, text: str) -> None:
        if self.proto.state is OPEN and not self.ended:
            self.transport.write(ws.text(text))

    def send_error(self, error: SirenaError) -> None:
        self.send(dumps({"type": "error", "problem": problem_body(error, self.lang, WS_PATH.decode())}))

    def _refuse(self, error: SirenaError) -> None:
        """A bad query or first message: the error, then close with 1008."""
        self.send_error(error)
        self.close(CLOSE_POLICY)

    def close(self, code: int, reason: str = "") -> None:
        """Send a close frame; the connection ends when the client answers, or after ``CLOSE_WAIT_S``."""
        self._stop_stream()
        self._stop_check()
        self.waiting_hello = False
        if self.proto.state is OPEN:
            self.proto.send_close(code, reason)
            self.flush()
            if self.close_timer is None:
                self.close_timer = asyncio.get_running_loop().call_later(CLOSE_WAIT_S, self.transport.abort)

    def _stop_stream(self) -> None:
        if self.client is not None:
            self.rt.hub.detach(self.client)
            self.client = None
        if self.task is not None:
            if not self.task.done():
                self.task.cancel()
            self.task = None

    def _stop_check(self) -> None:
        if self.check is not None:
            self.check.cancel()
            self.check = None

    def _end(self) -> None:
        if self.ended:
            return
        self.ended = True
        self.waiting_hello = False
        self._stop_stream()
        self._stop_check()
        if self.hello_timer is not None:
            self.hello_timer.cancel()
            self.hello_timer = None
