"""Helpers for testing Sirena and code that extends it: settings on a temporary database, a started runtime,
an in-process HTTP client, a real server on an ephemeral port, a live-stream reader and a fake clock.

Example::

    async with sirena.testing.api(tmp_path) as api:
        response = await api.client.post("/api/v1/alerts", json={"regions": ["31"]}, headers=api.auth)
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from sirena import auth
from sirena.protocol import sse
from sirena.runtime import Runtime
from sirena.settings import Settings
from sirena.web import create_app


def settings_for(folder: Path, **overrides: Any) -> Settings:
    """Settings with a fresh SQLite database in ``folder`` and fast polling; ``overrides`` win."""
    values: dict[str, Any] = {
        "database_url": f"sqlite:///{folder / 'sirena.db'}",
        "relay_poll_s": 0.1,
        "gc_freeze": False,  # many runtimes share one test process
    }
    values.update(overrides)
    return Settings.from_env({}, **values)


@dataclass
class FakeClock:
    """A clock that only moves when told to."""

    now: datetime = field(default_factory=lambda: datetime(2026, 1, 1, tzinfo=UTC))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> datetime:
        self.now += timedelta(seconds=seconds)
        return self.now


@contextlib.asynccontextmanager
async def running(settings: Settings, **kwargs: Any) -> AsyncIterator[Runtime]:
    """A started :class:`~sirena.runtime.Runtime`, stopped on exit."""
    rt = Runtime(settings, **kwargs)
    await rt.start()
    try:
        yield rt
    finally:
        await rt.stop()


@dataclass
class Api:
    client: httpx.AsyncClient
    runtime: Runtime
    token: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@contextlib.asynccontextmanager
async def api(folder: Path, **overrides: Any) -> AsyncIterator[Api]:
    """The app in process (no sockets), a started runtime and a fresh token."""
    async with running(settings_for(folder, **overrides)) as rt:
        token, _ = await auth.create(rt.store, "test")
        transport = httpx.ASGITransport(app=create_app(runtime=rt))
        async with httpx.AsyncClient(transport=transport, base_url="http://sirena.test") as client:
            yield Api(client, rt, token)


@contextlib.asynccontextmanager
async def serve(runtime: Runtime, host: str = "127.0.0.1", *, front: bool = True) -> AsyncIterator[str]:
    """Serve ``runtime`` with uvicorn on an ephemeral port in this event loop; yields the base URL. With
    ``front=False`` the live streams go through the ASGI app too, as on any other ASGI server."""
    import uvicorn

    from sirena.web.server import config

    app = create_app(runtime=runtime)
    made = config(app, host, 0, "warning") if front else uvicorn.Config(app, host=host, port=0, log_level="warning")
    server = uvicorn.Server(made)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
            raise RuntimeError("server stopped before it started")
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        await task


class StreamReader:
    """Reads a ``text/event-stream`` response event by event."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self._lines = response.aiter_lines()
        self.last_id: str | None = None

    async def next(self, within: float = 5.0) -> dict[str, Any]:
        """The next event with ``data`` parsed as JSON; heartbeats and ``retry`` lines are skipped."""
        return await asyncio.wait_for(self._next(), within)

    async def _next(self) -> dict[str, Any]:
        block: list[str] = []
        async for line in self._lines:
            if line:
                block.append(line)
                continue
            events = sse.parse("\n".join(block) + "\n\n")
            block = []
            for event in events:
                if "data" in event:
                    if "id" in event:
                        self.last_id = event["id"]
                    return {**event, "data": json.loads(event["data"])}
        raise EOFError("stream closed")


@contextlib.asynccontextmanager
async def stream(
    base_url: str, path: str = "/api/v1/stream", headers: dict[str, str] | None = None
) -> AsyncIterator[StreamReader]:
    """Open a live stream against a real server (see :func:`serve`)."""
    async with (
        httpx.AsyncClient(base_url=base_url, timeout=httpx.Timeout(10, read=30)) as client,
        client.stream("GET", path, headers=headers) as response,
    ):
        response.raise_for_status()
        yield StreamReader(response)
