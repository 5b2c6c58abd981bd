"""Reference for the fan-out benchmark: the least a server can do. Keeps every stream's transport (SSE, or
WebSocket after a minimal handshake) and, on POST /publish, writes one pre-encoded frame to all of them from a
single loop, with no per-client task. GET /lag answers the worst event-loop lag since the last GET /lag (and
the worst part of a lag the loop's thread spent running).

With PROCESSES > 1 that many processes share the port (``SO_REUSEPORT``) and each holds the clients the kernel
gave it; the process that receives POST /publish tells the others with a datagram on a Unix socket and writes to
its own clients, so every process writes the same frame to its share at once. A stream's response head names its
process (``x-sirena-worker``).

    python bench/_raw_server.py PORT [PROCESSES]
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
import resource
import socket
import sys
import time

SSE_HEAD = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\n"
GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def ws_text(payload: bytes) -> bytes:
    n = len(payload)
    if n < 126:
        return bytes((0x81, n)) + payload
    return bytes((0x81, 126)) + n.to_bytes(2, "big") + payload


class Broadcaster(asyncio.Protocol):
    sse: list[asyncio.Transport] = []  # noqa: RUF012 - one server per process, by design of this reference
    ws: list[asyncio.Transport] = []  # noqa: RUF012
    counter = 0
    worst_lag = 0.0
    worst_busy = 0.0
    index = 0
    siblings: list[str] = []  # noqa: RUF012
    channel: socket.socket | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: asyncio.Transport = transport  # type: ignore[assignment]
        self.buffer = b""
        self.streaming = False

    def data_received(self, data: bytes) -> None:
        if self.streaming:
            return
        self.buffer += data
        if b"\r\n\r\n" not in self.buffer:
            return
        head = self.buffer.split(b"\r\n\r\n", 1)[0]
        line, *fields = head.split(b"\r\n")
        headers = {k.strip().lower(): v.strip() for k, _, v in (f.partition(b":") for f in fields)}
        if line.startswith(b"GET /lag"):
            body = json.dumps({"worst_s": Broadcaster.worst_lag, "busy_s": Broadcaster.worst_busy}).encode()
            Broadcaster.worst_lag = Broadcaster.worst_busy = 0.0
            self.transport.write(b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n" % len(body) + body)
        elif line.startswith(b"GET") and b"sec-websocket-key" in headers:
            accept = base64.b64encode(hashlib.sha1(headers[b"sec-websocket-key"] + GUID).digest())
            self.transport.write(
                b"HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\n"
                b"sec-websocket-accept: " + accept + b"\r\n\r\n" + ws_text(b'{"type":"hello"}')
            )
            Broadcaster.ws.append(self.transport)
            self.streaming = True
        elif line.startswith(b"GET"):
            head = SSE_HEAD + b"x-sirena-worker: %d\r\n\r\n" % Broadcaster.index
            self.transport.write(head + b"event: hello\ndata: {}\n\n")
            Broadcaster.sse.append(self.transport)
            self.streaming = True
        else:
            n = Broadcaster.counter + 1
            if Broadcaster.channel is not None:
                for sibling in Broadcaster.siblings:
                    Broadcaster.channel.sendto(b"%d" % n, sibling)
            broadcast(n)
            self.transport.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
        self.buffer = b""

    def connection_lost(self, exc: Exception | None) -> None:
        for streams in (Broadcaster.sse, Broadcaster.ws):
            if self.transport in streams:
                streams.remove(self.transport)


def broadcast(n: int) -> None:
    Broadcaster.counter = n
    data = json.dumps({"seq": n, "type": "alert.issued", "alert": {"id": str(n)}}).encode()
    sse_frame = b"id: %d\nevent: alert.issued\ndata: %s\n\n" % (n, data)
    ws_frame = ws_text(data)
    for transport in Broadcaster.sse:
        transport.write(sse_frame)
    for transport in Broadcaster.ws:
        transport.write(ws_frame)


def heard() -> None:
    assert Broadcaster.channel is not None
    broadcast(int(Broadcaster.channel.recv(64)))


async def probe() -> None:
    while True:
        asked, ran = time.perf_counter(), time.thread_time()
        await asyncio.sleep(0.001)
        lag = time.perf_counter() - asked - 0.001
        Broadcaster.worst_lag = max(Broadcaster.worst_lag, lag)
        Broadcaster.worst_busy = max(Broadcaster.worst_busy, min(lag, time.thread_time() - ran))


async def main(port: int, processes: int, names: str) -> None:
    loop = asyncio.get_running_loop()
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(("127.0.0.1", port))
    if processes > 1:
        channel = Broadcaster.channel = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        channel.bind(f"{names}/{Broadcaster.index}")
        channel.setblocking(False)
        Broadcaster.siblings = [f"{names}/{i}" for i in range(processes) if i != Broadcaster.index]
        loop.add_reader(channel.fileno(), heard)
    server = await loop.create_server(Broadcaster, sock=sock, backlog=4096)
    lag = asyncio.create_task(probe())
    await server.serve_forever()
    lag.cancel()


if __name__ == "__main__":
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    import signal

    import uvloop

    count = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    tmp = f"\0raw-broadcaster-{os.getpid()}"  # Linux's abstract socket names: nothing to clean up
    children = []
    for i in range(1, count):
        pid = os.fork()
        if pid == 0:
            Broadcaster.index = i
            children = []
            break
        children.append(pid)
    if children:  # the first process stops the others when it is stopped
        signal.signal(signal.SIGTERM, lambda *_: [os.kill(p, signal.SIGTERM) for p in children] and sys.exit(0))
    uvloop.run(main(int(sys.argv[1]), count, tmp))
