"""A webhook receiver for the delivery benchmarks: HTTP/1.1 with keep-alive on a loopback port, answering 200 to
every POST at once and noting when each arrived, and which alert it carried. Used in process (``Receiver``) and
as the target of ``_sender.py``, the baseline's sender.
"""

from __future__ import annotations

import asyncio
import json
import time


class Receiver:
    def __init__(self) -> None:
        self.count = 0
        self.first = 0.0
        self.last = 0.0
        self.arrivals: dict[str, float] = {}
        """Alert id → ``time.perf_counter()`` at the first request that carried it (when ``keep_ids``)."""
        self.keep_ids = False
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

    def reset(self) -> None:
        self.count = 0
        self.first = self.last = 0.0
        self.arrivals.clear()


class _Connection(asyncio.Protocol):
    OK = b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n"

    def __init__(self, receiver: Receiver) -> None:
        self.receiver = receiver
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            length = 0
            for line in self.buffer[:end].split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            if len(self.buffer) < end + 4 + length:
                return
            body = self.buffer[end + 4 : end + 4 + length]
            self.buffer = self.buffer[end + 4 + length :]
            self.receiver.arrived(body)
            assert self.transport is not None
            self.transport.write(self.OK)
