"""The webhook endpoint connection: kept alive, sent again once when a kept-alive connection was closed, answers
read to a limit, chunked answers, refusals, against real sockets on loopback."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Callable

import pytest

from sirena.delivery import http1
from sirena.delivery.errors import UnsafeTarget

Answerer = Callable[[int, bytes], bytes | None]
"""(request number, request) → bytes to answer, or None to close the connection without answering."""


class Server:
    def __init__(self, answer: Answerer, close_after: bool = False) -> None:
        self.answer = answer
        self.close_after = close_after
        self.connections = 0
        self.requests: list[bytes] = []
        self.server: asyncio.Server | None = None

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    int(line.split(b":")[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length")
                )
                request = head + await reader.readexactly(length)
                self.requests.append(request)
                reply = self.answer(len(self.requests), request)
                if reply is None:
                    break
                writer.write(reply)
                await writer.drain()
                if self.close_after:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}/hook?x=1"


@pytest.fixture
async def serve() -> AsyncIterator[Callable[..., asyncio.Future[Server]]]:
    servers: list[Server] = []

    async def start(answer: Answerer, close_after: bool = False) -> Server:
        server = Server(answer, close_after)
        server.server = await asyncio.start_server(server.handle, "127.0.0.1", 0)
        servers.append(server)
        return server

    yield start  # type: ignore[misc]
    for server in servers:
        assert server.server is not None
        server.server.close()


def ok(status: int = 200, extra: bytes = b"") -> bytes:
    return b"HTTP/1.1 %d X\r\ncontent-length: 2\r\n%s\r\nok" % (status, extra)


async def post(conn: http1.Connection, url: str, body: bytes = b'{"a": 1}') -> http1.Answer:
    return await conn.post(url, body, {"webhook-id": "msg_1"}, read_limit=1000, allow_private=True)


async def test_one_connection_carries_every_request(serve: Callable[..., asyncio.Future[Server]]) -> None:
    server = await serve(lambda n, request: ok(200 if n < 3 else 503, b"retry-after: 7\r\n"))
    conn = http1.Connection()
    answers = [await post(conn, server.url, b"%d" % i) for i in range(3)]
    await conn.close()
    assert [a.status for a in answers] == [200, 200, 503]
    assert answers[2].headers["retry-after"] == "7"
    assert server.connections == 1
    first = server.requests[0]
    assert first.startswith(b"POST /hook?x=1 HTTP/1.1\r\n")
    assert b"\r\nhost: 127.0.0.1:" in first.lower()
    assert b"webhook-id: msg_1" in first
    assert [r.rsplit(b"\r\n\r\n", 1)[1] for r in server.requests] == [b"0", b"1", b"2"]


async def test_a_closed_kept_alive_connection_is_replaced(serve: Callable[..., asyncio.Future[Server]]) -> None:
    server = await serve(lambda n, request: ok(), close_after=True)  # closes after every answer, says nothing
    conn = http1.Connection()
    assert [(await post(conn, server.url)).status for _ in range(3)] == [200, 200, 200]
    await conn.close()
    assert server.connections == 3
    assert len(server.requests) == 3  # each sent once: a closed connection is noticed before anything is lost


async def test_a_connection_lost_before_the_answer_is_a_failure(serve: Callable[..., asyncio.Future[Server]]) -> None:
    server = await serve(lambda n, request: None)
    conn = http1.Connection()
    with pytest.raises(http1.HTTPFailure):
        await post(conn, server.url)
    assert server.connections == 1


async def test_long_and_chunked_answers(serve: Callable[..., asyncio.Future[Server]]) -> None:
    chunked = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
    huge = b"HTTP/1.1 500 X\r\ncontent-length: 500000\r\n\r\n" + b"x" * 500_000
    server = await serve(lambda n, request: chunked if n == 1 else huge)
    conn = http1.Connection()
    assert (await post(conn, server.url)).status == 200
    assert (await post(conn, server.url)).status == 500  # not read past the limit: the connection is dropped
    assert (await post(conn, server.url)).status == 500
    await conn.close()
    assert server.connections == 2


async def test_private_addresses_are_refused_unless_allowed(serve: Callable[..., asyncio.Future[Server]]) -> None:
    server = await serve(lambda n, request: ok())
    conn = http1.Connection()
    with pytest.raises(UnsafeTarget):
        await conn.post(server.url, b"{}", {}, read_limit=10, allow_private=False)
    assert server.connections == 0
    with pytest.raises(http1.HTTPFailure):
        await post(conn, "http://127.0.0.1:9/hook")  # nothing listens on the discard port


async def test_an_answer_that_does_not_come_in_time_is_a_timeout(
    serve: Callable[..., asyncio.Future[Server]],
) -> None:
    server = await serve(lambda n, request: b"HTTP/1.1 200 OK\r\n" if n == 2 else ok())  # the 2nd never finishes
    conn = http1.Connection()
    assert (await post(conn, server.url)).status == 200
    with pytest.raises(TimeoutError):
        await conn.post(server.url, b"{}", {}, read_limit=10, allow_private=True, limit_s=0.2)
    assert (await post(conn, server.url)).status == 200  # on a new connection: the late answer is not taken
    await conn.close()
    assert server.connections == 2


async def test_a_connection_that_is_not_made_in_time_is_a_timeout() -> None:
    with socket.socket() as full:  # listening, never accepting, its queue filled: the next connect hangs
        full.bind(("127.0.0.1", 0))
        full.listen(0)
        filler = socket.create_connection(full.getsockname())
        try:
            conn = http1.Connection()
            with pytest.raises(TimeoutError):  # not a connection error without a reason
                await conn.post(
                    f"http://127.0.0.1:{full.getsockname()[1]}/",
                    b"{}",
                    {},
                    read_limit=10,
                    allow_private=True,
                    limit_s=0.3,
                )
            await conn.close()
        finally:
            filler.close()
