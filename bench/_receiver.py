"""A webhook receiver for the delivery benchmarks: HTTP/1.1 with keep-alive on a loopback port, a raw asyncio
protocol with httptools' request parser (the one uvicorn uses), answering ``204`` at once and noting when each
delivery arrived, and which alert it carried. Used in process (``Receiver``) and as the target of ``_sender.py``,
the baseline's sender.

It counts a delivery only when the whole request arrived and is well formed: a ``POST`` with a JSON body and the
three Standard Webhooks headers (``webhook-id``, a numeric ``webhook-timestamp``, ``webhook-signature: v1,…``);
when it knows the secret of the path the request came to (``Receiver.secrets``) the signature must also match.
Anything else is answered ``400`` and counted in ``Receiver.refused``.
"""

from __future__ import annotations

import asyncio
import json
import time

import httptools

from sirena.delivery.signing import Signer


class Receiver:
    def __init__(self) -> None:
        self.count = 0
        self.refused = 0
        self.first = 0.0
        self.last = 0.0
        self.arrivals: dict[str, float] = {}
        """Alert id → ``time.perf_counter()`` at the first request that carried it (when ``keep_ids``)."""
        self.keep_ids = False
        self.secrets: dict[str, Signer] = {}
        """Request path → the signer of the secret its requests must be signed with."""
        self.changed = asyncio.Event()
        self.server: asyncio.Server | None = None

    async def start(self) -> int:
        loop = asyncio.get_running_loop()
        self.server = await loop.create_server(lambda: _Connection(self), "127.0.0.1", 0, backlog=1024)
        port: int = self.server.sockets[0].getsockname()[1]
        return port

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()

    def expect(self, path: str, secret: str) -> None:
        """Requests to ``path`` count only when signed with ``secret``."""
        self.secrets[path] = Signer(secret)

    def arrived(self, body: bytes) -> None:
        now = time.perf_counter()
        if not self.count:
            self.first = now
        self.count += 1
        self.last = now
        if self.keep_ids:
            try:
                alert_id = json.loads(body)["alert"]["id"]
            except (ValueError, KeyError, TypeError):
                return
            self.arrivals.setdefault(alert_id, now)
        self.changed.set()

    def check(self, path: str, method: bytes, headers: dict[bytes, bytes], body: bytes) -> bool:
        """Whether a complete request is a well-formed (and, where the secret is known, correctly signed)
        delivery."""
        msg_id = headers.get(b"webhook-id")
        stamp = headers.get(b"webhook-timestamp")
        signature = headers.get(b"webhook-signature")
        if method != b"POST" or not (msg_id and stamp and signature and stamp.isdigit()):
            return False
        if not signature.startswith(b"v1,") or headers.get(b"content-type") != b"application/json":
            return False
        try:
            json.loads(body)
        except ValueError:
            return False
        signer = self.secrets.get(path)
        if signer is None:
            return True
        expected = signer.signature(msg_id.decode(), int(stamp), body).encode()
        return expected in signature.split()

    def reset(self) -> None:
        self.count = self.refused = 0
        self.first = self.last = 0.0
        self.arrivals.clear()


class _Connection(asyncio.Protocol):
    OK = b"HTTP/1.1 204 No Content\r\n\r\n"
    BAD = b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n"

    def __init__(self, receiver: Receiver) -> None:
        self.receiver = receiver
        self.parser = httptools.HttpRequestParser(self)
        self.transport: asyncio.Transport | None = None
        self.url = b""
        self.headers: dict[bytes, bytes] = {}
        self.body: list[bytes] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            self.receiver.refused += 1
            assert self.transport is not None
            self.transport.write(self.BAD)
            self.transport.close()

    def on_message_begin(self) -> None:
        self.url = b""
        self.headers = {}
        self.body = []

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers[name.lower()] = value

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        assert self.transport is not None
        body = b"".join(self.body)
        path = self.url.decode("latin-1").split("?", 1)[0]
        if self.receiver.check(path, self.parser.get_method(), self.headers, body):
            self.receiver.arrived(body)
            self.transport.write(self.OK)
        else:
            self.receiver.refused += 1
            self.transport.write(self.BAD)
