"""A webhook endpoint's own HTTP/1.1 connection, kept alive between deliveries.

Each endpoint's worker sends one request at a time, in order, so it needs exactly one connection and no pool: the
request head and body go out in one write, the answer is parsed by ``httptools`` (the C parser uvicorn uses) as
the bytes arrive, in the connection's protocol (no stream reader in between), and the connection is reused for
the next message while the receiver keeps it open. The request line and the headers that do not change from one
message to the next are encoded once per connection. It connects to the address the safety check accepted (never
resolving the name again in between), follows no redirects, reads at most ``read_limit`` bytes of an answer's body
and closes a connection whose answer it did not read to the end. A request on a kept-alive connection that the
receiver had meanwhile closed is sent once more on a new one (receivers tell messages apart by ``webhook-id``).
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

import httptools

from sirena.delivery import address


class HTTPFailure(Exception):
    """The request could not be made or answered (connection refused or lost, malformed answer)."""


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    headers: dict[str, str]


class _Stale(Exception):
    """A kept-alive connection the receiver had closed: the request goes again on a new one."""


class _Protocol(asyncio.Protocol):
    """One connection's bytes: answers parsed as they arrive, handed to the request waiting for them."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.waiter: asyncio.Future[Answer] | None = None
        self.timer: asyncio.TimerHandle | None = None
        self.read_limit = 0
        self.received = False
        """Bytes of the current answer arrived (a kept-alive connection closed before any is stale)."""
        self.closed = False
        self.reusable = False
        self.headers: dict[str, str] = {}
        self.head_done = False
        self.done = False
        self.body = 0

    # -- the transport's callbacks ------------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        waiter = self.waiter
        if waiter is None or waiter.done():  # nobody asked: the connection cannot be trusted any more
            self.reusable = False
            self.abort()
            return
        self.received = True
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(HTTPFailure(f"RemoteProtocolError: {exc}"))
            return
        if not self.head_done:
            return
        status = self.parser.get_status_code()
        if self.done and 100 <= status < 200:  # an interim answer: the real one follows
            return
        if self.done:
            self._answer(Answer(status, self.headers))
        elif self.body > self.read_limit:  # enough: the rest is not read, so the connection cannot be reused
            self.reusable = False
            self._answer(Answer(status, self.headers))

    def eof_received(self) -> bool:
        self._lost(None)
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self._lost(exc)

    # -- httptools' callbacks ---------------------------------------------------------------------------------

    def on_message_begin(self) -> None:  # each answer, after any interim (1xx) one, starts afresh
        self.headers = {}
        self.head_done = self.done = False
        self.body = 0

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers[name.decode("latin-1").lower()] = value.decode("latin-1")

    def on_headers_complete(self) -> None:
        self.head_done = True

    def on_body(self, body: bytes) -> None:
        self.body += len(body)

    def on_message_complete(self) -> None:
        self.done = True
        self.reusable = self.parser.should_keep_alive()  # not known any later

    # -- one request ----------------------------------------------------------------------------------------

    def send(self, request: bytes, read_limit: int, deadline: float | None) -> asyncio.Future[Answer]:
        """Write ``request``; the answer (or :class:`TimeoutError` at loop time ``deadline``) comes in the
        future returned."""
        assert self.transport is not None
        loop = asyncio.get_running_loop()
        self.waiter = loop.create_future()
        if deadline is not None:
            self.timer = loop.call_at(deadline, self._fail, TimeoutError())
        self.read_limit = read_limit
        self.received = self.reusable = False
        self.head_done = self.done = False
        self.transport.write(request)
        return self.waiter

    def _answer(self, answer: Answer) -> None:
        waiter, self.waiter = self.waiter, None
        self.stop_timer()
        if not self.reusable:
            self.abort()
        if waiter is not None and not waiter.done():
            waiter.set_result(answer)

    def _fail(self, exc: Exception) -> None:
        waiter, self.waiter = self.waiter, None
        self.stop_timer()
        self.reusable = False
        self.abort()
        if waiter is not None and not waiter.done():
            waiter.set_exception(exc)

    def stop_timer(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None

    def _lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.reusable = False
        waiter = self.waiter
        if waiter is None or waiter.done():
            return
        if self.head_done and not self.done and exc is None:  # a body that lasts until the connection closes
            self._answer(Answer(self.parser.get_status_code(), self.headers))
            return
        if exc is not None:
            self._fail(ConnectionError(f"{type(exc).__name__}: {exc}"))
        else:
            self._fail(ConnectionError("the receiver closed the connection"))

    def abort(self) -> None:
        self.closed = True
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()


class Connection:
    """Requests to one endpoint, one at a time, over a kept-alive connection."""

    def __init__(self, ssl_context: ssl.SSLContext | None = None) -> None:
        self._ssl = ssl_context
        self._origin: tuple[str, str, int] | None = None
        self._protocol: _Protocol | None = None
        self._answers = 0
        self._prepared: tuple[str, tuple[tuple[str, str], ...], tuple[str, str, int], bytes] | None = None

    async def post(
        self,
        url: str,
        body: bytes,
        headers: Mapping[str, str],
        *,
        read_limit: int,
        allow_private: bool,
        message_headers: Sequence[tuple[str, str]] = (),
        limit_s: float | None = None,
    ) -> Answer:
        """POST ``body`` to ``url`` with ``headers`` (the same for every message, encoded once) and
        ``message_headers`` (this message's own); raises :class:`HTTPFailure`, :class:`TimeoutError` when it
        takes longer than ``limit_s`` seconds in all (connecting included), or
        :class:`~sirena.delivery.errors.UnsafeTarget` when the address is not allowed."""
        deadline = None if limit_s is None else asyncio.get_running_loop().time() + limit_s
        origin, head = self._head(url, headers)
        parts = [head, b"content-length: %d\r\n" % len(body)]
        parts += [f"{k}: {v}\r\n".encode("latin-1", errors="replace") for k, v in message_headers if _clean(v)]
        parts += [b"\r\n", body]
        request = b"".join(parts)
        protocol = self._protocol
        if self._origin != origin or protocol is None or protocol.closed:
            await self.close()
            protocol = await self._connect(url, origin, allow_private, deadline)
        try:
            return await self._exchange(protocol, request, read_limit, deadline)
        except _Stale:
            await self.close()
            protocol = await self._connect(url, origin, allow_private, deadline)
            return await self._exchange(protocol, request, read_limit, deadline)

    async def close(self) -> None:
        protocol, self._protocol, self._origin = self._protocol, None, None
        if protocol is not None:
            protocol.waiter = None
            protocol.stop_timer()
            protocol.abort()

    def _head(self, url: str, headers: Mapping[str, str]) -> tuple[tuple[str, str, int], bytes]:
        """The origin of ``url`` and the request line with the unchanging headers, encoded once."""
        items = tuple(headers.items())
        prepared = self._prepared
        if prepared is not None and prepared[0] == url and prepared[1] == items:
            return prepared[2], prepared[3]
        parts = urlsplit(url)
        host, port = address.parse(url)
        origin = (parts.scheme, host, port)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        default = 443 if parts.scheme == "https" else 80
        name = f"[{host}]" if ":" in host else host
        authority = name if port == default else f"{name}:{port}"
        lines = [f"POST {target} HTTP/1.1", f"host: {authority}"]
        lines += [f"{k}: {v}" for k, v in items if _clean(v)]
        head = ("\r\n".join(lines) + "\r\n").encode("latin-1", errors="replace")
        self._prepared = (url, items, origin, head)
        return origin, head

    async def _connect(
        self, url: str, origin: tuple[str, str, int], allow_private: bool, deadline: float | None
    ) -> _Protocol:
        scheme, host, port = origin
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout_at(deadline):
                ip = await address.pick(url, allow_private=allow_private)
                tls: ssl.SSLContext | None = None
                if scheme == "https":
                    tls = self._ssl or ssl.create_default_context()
                _, protocol = await loop.create_connection(
                    _Protocol, str(ip), port, ssl=tls, server_hostname=host if tls else None
                )
        except TimeoutError:
            raise  # the attempt's time limit (an OSError too, since Python 3.11): recorded as a timeout
        except OSError as exc:
            raise HTTPFailure(f"ConnectError: {exc}") from exc
        self._protocol = protocol
        self._origin = origin
        self._answers = 0
        return protocol

    async def _exchange(self, protocol: _Protocol, request: bytes, read_limit: int, deadline: float | None) -> Answer:
        reused = self._answers > 0
        try:
            answer = await protocol.send(request, read_limit, deadline)
        except ConnectionError as exc:
            if not protocol.received and reused:
                raise _Stale from exc
            await self.close()
            raise HTTPFailure(f"RemoteProtocolError: {exc}") from exc
        except HTTPFailure:
            await self.close()
            raise
        except BaseException:
            await self.close()
            raise
        self._answers += 1
        if protocol.closed:
            await self.close()
        return answer


def _clean(value: str) -> bool:
    return "\r" not in value and "\n" not in value
