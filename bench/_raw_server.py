"""Reference for the fan-out benchmark: the least a server can do. Keeps every stream's transport and, on
POST /publish, writes one pre-encoded SSE frame to all of them from a single loop, with no per-client task."""

from __future__ import annotations

import asyncio
import resource
import sys

HEAD = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\n\r\n"


class Broadcaster(asyncio.Protocol):
    streams: list[asyncio.Transport] = []  # noqa: RUF012 - one server per process, by design of this reference
    counter = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: asyncio.Transport = transport  # type: ignore[assignment]
        self.buffer = b""

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if b"\r\n\r\n" not in self.buffer:
            return
        head = self.buffer.split(b"\r\n", 1)[0]
        if head.startswith(b"GET"):
            self.transport.write(HEAD + b"event: hello\ndata: {}\n\n")
            Broadcaster.streams.append(self.transport)
        else:
            Broadcaster.counter += 1
            frame = (
                f'id: {Broadcaster.counter}\nevent: alert.issued\ndata: {{"seq": {Broadcaster.counter}}}\n\n'.encode()
            )
            for transport in Broadcaster.streams:
                transport.write(frame)
            self.transport.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
        self.buffer = b""

    def connection_lost(self, exc: Exception | None) -> None:
        if self.transport in Broadcaster.streams:
            Broadcaster.streams.remove(self.transport)


async def main(port: int) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(Broadcaster, "127.0.0.1", port, backlog=4096)
    await server.serve_forever()


if __name__ == "__main__":
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    import uvloop

    uvloop.run(main(int(sys.argv[1])))
