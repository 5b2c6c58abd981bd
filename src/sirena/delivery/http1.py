"""A webhook endpoint's own HTTP/1.1 connection, kept alive between deliveries.

Each endpoint's worker sends one request at a time, in order, so it needs exactly one connection and no pool: the
request head and body go out in one write, the answer is parsed by ``httptools`` (the C parser uvicorn uses), and
the connection is reused for the next message while the receiver keeps it open. It connects to the address the
safety check accepted (never resolving the name again in between), follows no redirects, reads at most
``read_limit`` bytes of an answer's body and closes a connection whose answer it did not read to the end. A
request on a kept-alive connection that the receiver had meanwhile closed is sent once more on a new one
(receivers tell messages apart by ``webhook-id``).
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httptools

from sirena.delivery import address

CHUNK = 65_536


class HTTPFailure(Exception):
    """The request could not be made or answered (connection refused or lost, malformed answer)."""


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    headers: dict[str, str]


@dataclass(slots=True)
class _Reading:
    """httptools' callbacks for one answer."""

    headers: dict[str, str] = field(default_factory=dict)
    head_done: bool = False
    done: bool = False
    body: int = 0
    keep_alive: bool = False
    parser: httptools.HttpResponseParser | None = None

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
        self.keep_alive = self.parser is not None and self.parser.should_keep_alive()  # not known any later


class Connection:
    """Requests to one endpoint, one at a time, over a kept-alive connection."""

    def __init__(self, ssl_context: ssl.SSLContext | None = None) -> None:
        self._ssl = ssl_context
        self._origin: tuple[str, str, int] | None = None
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._answers = 0

    async def post(
        self, url: str, body: bytes, headers: dict[str, str], *, read_limit: int, allow_private: bool
    ) -> Answer:
        """POST ``body`` to ``url``; raises :class:`HTTPFailure`, or :class:`~sirena.delivery.errors.UnsafeTarget`
        when the address is not allowed."""
        parts = urlsplit(url)
        host, port = address.parse(url)
        origin = (parts.scheme, host, port)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        default = 443 if parts.scheme == "https" else 80
        name = f"[{host}]" if ":" in host else host
        authority = name if port == default else f"{name}:{port}"
        lines = [f"POST {target} HTTP/1.1", f"host: {authority}", f"content-length: {len(body)}"]
        lines += [f"{k}: {v}" for k, v in headers.items() if "\r" not in v and "\n" not in v]
        request = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", errors="replace") + body
        if self._origin != origin or self._writer is None:
            await self.close()
            await self._connect(url, origin, allow_private)
        try:
            return await self._exchange(request, read_limit)
        except _Stale:
            await self.close()
            await self._connect(url, origin, allow_private)
            return await self._exchange(request, read_limit)

    async def close(self) -> None:
        writer, self._writer, self._reader, self._origin = self._writer, None, None, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _connect(self, url: str, origin: tuple[str, str, int], allow_private: bool) -> None:
        scheme, host, port = origin
        ip = await address.pick(url, allow_private=allow_private)
        tls: ssl.SSLContext | None = None
        if scheme == "https":
            tls = self._ssl or ssl.create_default_context()
        try:
            self._reader, self._writer = await asyncio.open_connection(
                str(ip), port, ssl=tls, server_hostname=host if tls else None
            )
        except OSError as exc:
            raise HTTPFailure(f"ConnectError: {exc}") from exc
        self._origin = origin
        self._answers = 0

    async def _exchange(self, request: bytes, read_limit: int) -> Answer:
        reader, writer = self._reader, self._writer
        assert reader is not None
        assert writer is not None
        reused = self._answers > 0
        reading = _Reading()
        parser = reading.parser = httptools.HttpResponseParser(reading)
        received = False
        try:
            writer.write(request)
            while True:
                data = await reader.read(CHUNK)
                if not data:
                    if not received and reused:
                        raise _Stale
                    if reading.head_done:  # a body that lasts until the connection closes
                        await self.close()
                        return Answer(parser.get_status_code(), reading.headers)
                    raise HTTPFailure("RemoteProtocolError: the receiver closed the connection")
                received = True
                parser.feed_data(data)
                status = parser.get_status_code() if reading.head_done else 0
                if reading.done and 100 <= status < 200:  # an interim answer: the real one follows
                    continue
                if reading.done:
                    self._answers += 1
                    if not reading.keep_alive:
                        await self.close()
                    return Answer(status, reading.headers)
                if reading.body > read_limit:  # enough: the rest is not read, so the connection cannot be reused
                    await self.close()
                    return Answer(status, reading.headers)
        except ConnectionError as exc:
            if not received and reused:
                raise _Stale from exc
            await self.close()
            raise HTTPFailure(f"{type(exc).__name__}: {exc}") from exc
        except httptools.HttpParserError as exc:
            await self.close()
            raise HTTPFailure(f"RemoteProtocolError: {exc}") from exc
        except BaseException:
            await self.close()
            raise


class _Stale(Exception):
    """A kept-alive connection the receiver had closed: the request goes again on a new one."""
