"""Real HTTP receivers for webhook tests: a tiny ASGI app served by uvicorn on a loopback port that records each
request and answers as told (accept, fail, hang), and can be stopped and started again on the same port."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import uvicorn
from standardwebhooks import Webhook

from sirena.cluster.testing import free_port

FAST_RETRIES = {
    "webhook_allow_private": True,
    "webhook_retry_base_s": 0.05,
    "webhook_retry_max_s": 0.3,
    "delivery_poll_s": 0.2,
}
"""Settings for webhook tests: loopback receivers allowed, quick retries."""


async def serve_asgi(app: Any, port: int) -> tuple[uvicorn.Server, asyncio.Task[None]]:
    """Serve a plain ASGI callable on a loopback port in this event loop, once it is listening."""
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="off",
        interface="asgi3",
        timeout_graceful_shutdown=1,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    return server, task


@dataclass
class Hit:
    headers: dict[str, str]
    body: bytes
    at: float
    """``time.monotonic()`` when the request arrived."""
    status: int
    """What the receiver answered."""

    @property
    def json(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.body)
        return data

    @property
    def msg_id(self) -> str:
        return self.headers["webhook-id"]


@dataclass
class Receiver:
    """``status`` is the answer; ``hang_next_s`` makes the next request wait that long before answering."""

    port: int = field(default_factory=free_port)
    status: int = 200
    hang_next_s: float = 0.0
    hits: list[Hit] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    _server: uvicorn.Server | None = None
    _task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def delivered(self) -> list[Hit]:
        """Requests answered with 2xx, in arrival order."""
        return [h for h in self.hits if 200 <= h.status < 300]

    async def app(self, scope: dict[str, Any], receive: Callable[[], Awaitable[dict[str, Any]]], send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        status = self.status
        hang, self.hang_next_s = self.hang_next_s, 0.0
        hit = Hit(headers, body, time.monotonic(), status)
        self.hits.append(hit)
        self.arrived.set()
        if hang:
            await asyncio.sleep(hang)
        await send({"type": "http.response.start", "status": status, "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": b"ok"})

    async def start(self) -> None:
        self._server, self._task = await serve_asgi(self.app, self.port)

    async def stop(self) -> None:
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._server = None
        self._task = None

    async def wait_for(self, predicate: Callable[[], bool], within: float = 30.0) -> None:
        deadline = time.monotonic() + within
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out; received {len(self.hits)} requests")
            self.arrived.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(0.2):
                    await self.arrived.wait()


@contextlib.asynccontextmanager
async def receiver(**kwargs: Any) -> AsyncIterator[Receiver]:
    r = Receiver(**kwargs)
    await r.start()
    try:
        yield r
    finally:
        await r.stop()


def verified(secret: str, hit: Hit) -> dict[str, Any]:
    """The body, after the reference Standard Webhooks verifier accepted its signature."""
    result: dict[str, Any] = Webhook(secret).verify(hit.body, hit.headers)
    return result


async def until(check: Callable[[], Awaitable[bool]], within: float = 30.0, every: float = 0.05) -> None:
    deadline = time.monotonic() + within
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(every)


async def post(client: httpx.AsyncClient, path: str, body: Any, headers: dict[str, str]) -> dict[str, Any]:
    response = await client.post(path, json=body, headers=headers)
    assert response.status_code in {200, 201}, response.text
    data: dict[str, Any] = response.json()
    return data
