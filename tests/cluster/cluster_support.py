"""What the cluster tests need around real `sirena serve` nodes (:mod:`sirena.cluster.testing` starts them):
live-stream readers that can move between nodes, a webhook receiver, and a TCP proxy that can cut a node off
from PostgreSQL without touching the shared server."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from sirena.cluster.testing import Node
from sirena.protocol import sse

# -- live streams ---------------------------------------------------------------------------------------------


@dataclass
class Follower:
    """Reads a node's SSE stream in the background, collecting event sequence numbers; can move to another node
    and resume with ``Last-Event-ID`` as a browser would."""

    node: Node
    last_id: int | None = None
    seqs: list[int] = field(default_factory=list)
    retry_hints: int = 0
    ended: asyncio.Event = field(default_factory=asyncio.Event)
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    _task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.ended.clear()
        self.ready.clear()
        self._task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        headers = {} if self.last_id is None else {"Last-Event-ID": str(self.last_id)}
        try:
            async with (
                httpx.AsyncClient(base_url=self.node.url, timeout=httpx.Timeout(10, read=30)) as client,
                client.stream("GET", "/api/v1/stream?statuses=all", headers=headers) as response,
            ):
                response.raise_for_status()
                block: list[str] = []
                async for line in response.aiter_lines():
                    if line:
                        block.append(line)
                        continue
                    for item in sse.parse("\n".join(block) + "\n\n"):
                        if "retry" in item and "data" not in item:
                            self.retry_hints += 1
                            if self.last_id is not None:  # resuming: nothing to wait for
                                self.ready.set()
                        elif item.get("event") == "snapshot":
                            self.last_id = int(item["id"])
                            self.ready.set()
                        elif "id" in item and "data" in item:
                            self.last_id = int(item["id"])
                            self.seqs.append(self.last_id)
                            self.ready.set()
                    block = []
        except (httpx.HTTPError, OSError):
            pass
        finally:
            self.ended.set()

    async def move_to(self, node: Node) -> None:
        await self.stop()
        self.node = node
        self.start()
        await asyncio.wait_for(self.ready.wait(), 15)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def wait_for(self, check: Callable[[list[int]], bool], within: float = 30) -> None:
        async with asyncio.timeout(within):
            while not check(self.seqs):  # noqa: ASYNC110 - polling what the reader task collects
                await asyncio.sleep(0.05)


async def follow(node: Node) -> Follower:
    follower = Follower(node)
    follower.start()
    await asyncio.wait_for(follower.ready.wait(), 15)
    return follower


# -- webhooks -------------------------------------------------------------------------------------------------


@dataclass
class Receiver:
    """A webhook endpoint that records every request (``webhook-id`` and body) and answers 200."""

    delay_s: float = 0.0
    hits: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    port: int = 0
    _server: asyncio.AbstractServer | None = None
    _connections: set[asyncio.StreamWriter] = field(default_factory=set)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            for writer in tuple(self._connections):  # senders keep connections alive
                writer.transport.abort()
            await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._connections.add(writer)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                headers = {}
                for line in head.decode("latin-1").split("\r\n")[1:]:
                    name, _, value = line.partition(":")
                    headers[name.strip().lower()] = value.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                if self.delay_s:
                    await asyncio.sleep(self.delay_s)
                self.hits.append((headers.get("webhook-id", ""), json.loads(body)))
                writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self._connections.discard(writer)
            writer.close()


# -- cutting PostgreSQL off -----------------------------------------------------------------------------------


@dataclass
class TcpProxy:
    """Forwards a local port to PostgreSQL. ``cut()`` drops every connection and refuses new ones (what a node
    sees when the server goes down); ``restore()`` listens again on the same port."""

    target_port: int = 5432
    port: int = 0
    _server: asyncio.AbstractServer | None = None
    _pipes: set[asyncio.StreamWriter] = field(default_factory=set)

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port or 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def cut(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for writer in tuple(self._pipes):
            writer.transport.abort()
        self._pipes.clear()

    async def restore(self) -> None:
        await self.start()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.transport.abort()
            return
        self._pipes.update((writer, up_writer))

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                dst.transport.abort()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        self._pipes.difference_update((writer, up_writer))
