"""A real Sirena on an ephemeral port with a fake clock, and helpers to issue alerts through the native API."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from sirena import auth, testing
from sirena.runtime import Runtime

AIU = "/compat/alerts-in-ua"
UAA = "/compat/ukrainealarm"


@dataclass
class Live:
    runtime: Runtime
    base: str
    token: str
    clock: testing.FakeClock

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    async def issue(self, regions: list[str], **fields: Any) -> dict[str, Any]:
        """Issue an alert through the native API, one second after the previous change."""
        self.clock.advance(1)
        async with httpx.AsyncClient(base_url=self.base) as client:
            response = await client.post("/api/v1/alerts", json={"regions": regions, **fields}, headers=self.auth)
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created

    async def act(self, alert_id: str, action: str) -> dict[str, Any]:
        """``end`` or ``cancel`` an alert through the native API."""
        self.clock.advance(1)
        async with httpx.AsyncClient(base_url=self.base) as client:
            response = await client.post(f"/api/v1/alerts/{alert_id}/{action}", headers=self.auth)
        assert response.status_code == 200, response.text
        done: dict[str, Any] = response.json()
        return done

    async def get(self, path: str, headers: dict[str, str] | None = None) -> httpx.Response:
        async with httpx.AsyncClient(base_url=self.base) as client:
            return await client.get(path, headers=headers)


@contextlib.asynccontextmanager
async def live_server(folder: Path, **overrides: Any) -> AsyncIterator[Live]:
    clock = testing.FakeClock()
    async with testing.running(testing.settings_for(folder, **overrides), clock=clock) as rt:
        token, _ = await auth.create(rt.store, "compat")
        async with testing.serve(rt) as base:
            yield Live(rt, base, token, clock)


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: Any


@contextlib.asynccontextmanager
async def receiver() -> AsyncIterator[tuple[str, asyncio.Queue[Received]]]:
    """A webhook receiver on an ephemeral loopback port: yields its base URL and the queue of requests it got."""
    import uvicorn

    got: asyncio.Queue[Received] = asyncio.Queue()

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        chunks = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        await got.put(Received(scope["path"], headers, json.loads(b"".join(chunks) or b"null")))
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}", got
    finally:
        server.should_exit = True
        await task
