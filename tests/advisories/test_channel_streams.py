"""The live streams refuse a channel that does not exist (404 `channel-not-found`, as webhooks and Web Push do)
instead of a subscription that never hears anything, and accept one created after the server started on another
node sharing the database: SSE and WebSocket, each through the front of `sirena serve` and through the ASGI
routes, on SQLite and PostgreSQL."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from advisories_support import Site, next_event, site
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from sirena import testing
from sirena.web import create_app

EMBASSY = "embassy-ca-kyiv"
OTHER = "embassy-pl-kyiv"
CLOSURE = {"channel": EMBASSY, "type": "closure", "regions": ["31"], "headline": {"en": "The Embassy is closed"}}
NOT_FOUND = "/problems/channel-not-found"

paths = pytest.mark.parametrize("front", [True, False], ids=["front", "asgi"])


async def create_elsewhere(s: Site, channel_id: str) -> None:
    """Create a channel through the API of a second node on the same database."""
    async with testing.running(s.runtime.settings) as other:
        transport = httpx.ASGITransport(app=create_app(runtime=other))
        async with httpx.AsyncClient(transport=transport, base_url="http://other.test", headers=s.admin) as client:
            body = {"id": channel_id, "name": "Embassy", "languages": ["en"]}
            created = await client.post("/api/v1/channels", json=body)
    assert created.status_code == 201, created.text


@paths
async def test_sse_refuses_an_unknown_channel_and_takes_one_created_on_another_node(
    tmp_path: Path, database_url: str, front: bool
) -> None:
    async with site(tmp_path, front=front, database_url=database_url) as s:
        await s.post("/api/v1/channels", {"id": OTHER, "name": "Embassy", "languages": ["en"]})
        for channels in (EMBASSY, f"{OTHER},{EMBASSY}"):
            refused = await s.client.get(f"/api/v1/stream?channels={channels}", headers={"Accept-Language": "uk"})
            assert refused.status_code == 404, refused.text
            assert refused.headers["content-type"] == "application/problem+json"
            problem = refused.json()
            assert (problem["type"], problem["channel"], problem["instance"]) == (NOT_FOUND, EMBASSY, "/api/v1/stream")
            assert problem["detail"] == f"Каналу {EMBASSY} немає."

        await create_elsewhere(s, EMBASSY)
        async with testing.stream(s.base, f"/api/v1/stream?channels={OTHER},{EMBASSY}") as reader:
            assert (await reader.next())["event"] == "snapshot"
            advisory = await s.post("/api/v1/advisories", CLOSURE)
            got = await next_event(reader)
            assert (got["event"], got["data"]["advisory"]["id"]) == ("advisory.issued", advisory["id"])


async def next_frame(ws: ClientConnection) -> dict[str, Any]:
    """The next frame that is not a heartbeat."""
    while True:
        frame: dict[str, Any] = json.loads(await ws.recv())
        if frame.get("type") != "heartbeat":
            return frame


async def refused_and_closed(ws: ClientConnection) -> dict[str, Any]:
    """The problem of the error frame the server sends before it closes the socket with 1008."""
    frame = await next_frame(ws)
    assert frame["type"] == "error", frame
    with pytest.raises(ConnectionClosed) as closed:
        await next_frame(ws)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
    problem: dict[str, Any] = frame["problem"]
    return problem


@contextlib.asynccontextmanager
async def websocket(s: Site, query: str = "") -> AsyncIterator[ClientConnection]:
    async with connect(s.base.replace("http://", "ws://") + "/api/v1/ws" + query, open_timeout=10) as ws:
        yield ws


@paths
async def test_websocket_refuses_an_unknown_channel_and_takes_one_created_on_another_node(
    tmp_path: Path, database_url: str, front: bool
) -> None:
    async with site(tmp_path, front=front, database_url=database_url) as s:
        # in the query, or in the first message: the problem, then the socket is closed with 1008
        async with websocket(s, f"?channels={EMBASSY}") as ws:
            problem = await refused_and_closed(ws)
        assert (problem["type"], problem["status"], problem["channel"]) == (NOT_FOUND, 404, EMBASSY)
        assert problem["instance"] == "/api/v1/ws"
        async with websocket(s) as ws:
            await ws.send(json.dumps({"channels": [EMBASSY]}))
            assert (await refused_and_closed(ws))["type"] == NOT_FOUND

        async with websocket(s) as ws:
            assert (await next_frame(ws))["type"] == "snapshot"
            # in a later message: the problem, answered before a ping sent after it, and the filters stay as
            # they were (an exercise is still left out)
            await ws.send(json.dumps({"channels": [EMBASSY], "statuses": ["all"]}))
            await ws.send(json.dumps({"type": "ping", "id": 7}))
            error = await next_frame(ws)
            assert (error["type"], error["problem"]["type"], error["problem"]["channel"]) == (
                "error",
                NOT_FOUND,
                EMBASSY,
            )
            assert await next_frame(ws) == {"type": "pong", "id": 7}
            await s.post("/api/v1/alerts", {"regions": ["14"], "status": "exercise"})
            alert = await s.post("/api/v1/alerts", {"regions": ["31"]})
            assert (await next_frame(ws))["alert"]["id"] == alert["id"]

            await create_elsewhere(s, EMBASSY)
            await ws.send(json.dumps({"channels": [EMBASSY]}))
            assert (await next_frame(ws))["type"] == "snapshot"
            async with websocket(s, f"?channels={EMBASSY}") as from_query:
                assert (await next_frame(from_query))["type"] == "snapshot"
                advisory = await s.post("/api/v1/advisories", CLOSURE)
                for client in (ws, from_query):
                    got = await next_frame(client)
                    assert (got["type"], got["advisory"]["id"]) == ("advisory.issued", advisory["id"])


async def test_a_channel_lookup_that_fails_unexpectedly_is_an_internal_error_not_a_silent_wait(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(ids: Any) -> None:
        raise RuntimeError("the lookup broke")

    async with site(tmp_path) as s:  # the front of `sirena serve`, where the lookup runs beside the connection
        monkeypatch.setattr(s.runtime.advisories.channels, "require", broken)
        failed = await s.client.get(f"/api/v1/stream?channels={EMBASSY}")
        assert failed.status_code == 500
        assert failed.json()["type"] == "/problems/internal-error"
        async with websocket(s, f"?channels={EMBASSY}") as ws:
            assert (await refused_and_closed(ws))["type"] == "/problems/internal-error"
        async with websocket(s) as ws:  # a later message: the problem, and the socket still answers
            assert (await next_frame(ws))["type"] == "snapshot"
            await ws.send(json.dumps({"channels": [EMBASSY]}))
            await ws.send(json.dumps({"type": "ping", "id": 1}))
            assert (await next_frame(ws))["problem"]["type"] == "/problems/internal-error"
            assert await next_frame(ws) == {"type": "pong", "id": 1}
