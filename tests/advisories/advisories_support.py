"""A real Sirena server on a loopback port (real SQLite), users with tokens, a webhook receiver and SSE readers."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from standardwebhooks import Webhook

from sirena import auth, testing
from sirena.auth import accounts, create_for
from sirena.cluster.testing import free_port
from sirena.runtime import Runtime

FAST = {
    "webhook_allow_private": True,
    "webhook_retry_base_s": 0.05,
    "webhook_retry_max_s": 0.3,
    "delivery_poll_s": 0.1,
    "stream_heartbeat_s": 1.0,
}


@dataclass
class Site:
    runtime: Runtime
    base: str
    client: httpx.AsyncClient
    admin: dict[str, str]

    @property
    def registry(self) -> Any:
        return self.runtime.registry

    async def user(
        self, name: str, role: str, scopes: tuple[str, ...] = (), channels: tuple[str, ...] = ()
    ) -> dict[str, str]:
        """Add a user and give them a token; returns the Authorization header."""
        await accounts.add_user(self.runtime.store, self.registry, name, role, scopes=scopes, channels=channels)
        token, _ = await create_for(self.runtime.store, f"{name}-token", user=name)
        return {"Authorization": f"Bearer {token}"}

    async def post(self, path: str, body: Any, headers: dict[str, str] | None = None, status: int = 201) -> Any:
        response = await self.client.post(path, json=body, headers=headers or self.admin)
        assert response.status_code == status, response.text
        return response.json()

    async def get(self, path: str, headers: dict[str, str] | None = None, **params: Any) -> Any:
        response = await self.client.get(path, headers=headers or {}, params=params)
        assert response.status_code == 200, response.text
        return response.json()


@contextlib.asynccontextmanager
async def site(folder: Path, *, front: bool = True, **overrides: Any) -> AsyncIterator[Site]:
    """A running server; with ``front=False`` its live streams go through the ASGI app (see ``testing.serve``)."""
    settings = testing.settings_for(folder, **{**FAST, **overrides})
    async with testing.running(settings) as rt, testing.serve(rt, front=front) as base:
        token, _ = await auth.create(rt.store, "admin-desk")
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            yield Site(rt, base, client, {"Authorization": f"Bearer {token}"})


# -- webhooks ---------------------------------------------------------------------------------------------------


@dataclass
class Receiver:
    """A webhook receiver on a loopback port that records every request."""

    port: int = field(default_factory=free_port)
    bodies: list[tuple[dict[str, str], bytes]] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    async def app(self, scope: dict[str, Any], receive: Callable[[], Awaitable[dict[str, Any]]], send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        self.bodies.append(({k.decode().lower(): v.decode() for k, v in scope["headers"]}, body))
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    def verified(self, secret: str) -> list[dict[str, Any]]:
        """Every body, after the reference Standard Webhooks verifier accepted its signature, in arrival order."""
        return [Webhook(secret).verify(body, headers) for headers, body in self.bodies]


@contextlib.asynccontextmanager
async def receiver() -> AsyncIterator[Receiver]:
    hook = Receiver()
    config = uvicorn.Config(
        hook.app, host="127.0.0.1", port=hook.port, log_level="warning", lifespan="off", interface="asgi3"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    try:
        yield hook
    finally:
        server.should_exit = True
        await task


async def until(check: Callable[[], bool | Awaitable[bool]], within: float = 30.0, every: float = 0.05) -> None:
    deadline = time.monotonic() + within
    while True:
        result = check()
        if not isinstance(result, bool):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(every)


async def next_event(reader: testing.StreamReader, within: float = 10.0) -> dict[str, Any]:
    """The next SSE event that is not the snapshot."""
    while True:
        event = await reader.next(within=within)
        if event.get("event") != "snapshot":
            return event


async def nothing_more(reader: testing.StreamReader, within: float = 0.5) -> None:
    """The stream has nothing for ``within`` seconds (heartbeats aside)."""
    with contextlib.suppress(TimeoutError):
        event = await reader.next(within=within)
        raise AssertionError(f"unexpected event: {json.dumps(event, ensure_ascii=False)[:300]}")
