"""The live-stream front of `sirena serve`: direct writes, refusals as problem+json, slow-client isolation."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from sirena import testing
from sirena.domain import AlertDraft, Target
from sirena.runtime import Runtime


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[tuple[Runtime, str]]:
    settings = testing.settings_for(tmp_path, stream_client_buffer_bytes=4096, stream_queue_size=1000)
    async with testing.running(settings) as rt, testing.serve(rt) as base:
        yield rt, base


async def issue(rt: Runtime, region: str = "31", text: str = "") -> str:
    draft = AlertDraft(target=Target(regions=(region,)), instruction={"en": text} if text else {})
    return (await rt.service.issue(draft)).event.alert.id


@pytest.mark.parametrize(
    ("query", "field"),
    [("regions=nope", "regions"), ("statuses=maybe", "statuses"), ("since_seq=x", "since_seq")],
)
async def test_bad_stream_requests_are_refused_as_problems(served: tuple[Runtime, str], query: str, field: str) -> None:
    _, base = served
    async with httpx.AsyncClient(base_url=base) as client:
        response = await client.get(f"/api/v1/stream?{query}", headers={"Accept-Language": "uk"})
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == 422
    assert body["instance"] == "/api/v1/stream"
    assert field in json.dumps(body)


async def test_every_client_gets_the_same_bytes(served: tuple[Runtime, str]) -> None:
    rt, base = served
    async with testing.stream(base) as one, testing.stream(base) as two:
        await one.next()
        await two.next()
        assert one.response.headers.get("transfer-encoding") is None  # plain body: frames go out as they are
        alert_id = await issue(rt)
        a, b = await asyncio.gather(one.next(), two.next())
        assert a == b
        assert a["data"]["alert"]["id"] == alert_id
    for _ in range(100):  # both leave the hub with their connections
        if rt.hub.direct_count == 0:
            break
        await asyncio.sleep(0.02)
    assert rt.hub.direct_count == 0


async def test_a_client_that_stops_reading_is_cut_off_and_others_get_everything(served: tuple[Runtime, str]) -> None:
    rt, base = served
    host, port = base.removeprefix("http://").split(":")
    stuck = socket.socket()
    stuck.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    stuck.connect((host, int(port)))
    stuck.sendall(f"GET /api/v1/stream HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
    try:
        async with testing.stream(base) as healthy:
            await healthy.next()
            ids = []
            for i in range(400):  # enough to fill the kernel's buffers on both sides, then ours
                ids.append(await issue(rt, text="x" * 60_000 + str(i)))
                if rt.hub.stats.dropped_clients:
                    break
            assert rt.hub.stats.dropped_clients == 1
            received = [(await healthy.next())["data"]["alert"]["id"] for _ in ids]
            assert received == ids
            assert rt.hub.direct_count == 1
    finally:
        stuck.close()


async def test_other_requests_pass_through_to_the_app(served: tuple[Runtime, str]) -> None:
    _, base = served
    async with httpx.AsyncClient(base_url=base) as client:
        assert (await client.get("/healthz")).json()["status"] == "ok"
        refused = await client.post("/api/v1/stream")
        assert refused.status_code == 405
        assert refused.headers["content-type"] == "application/problem+json"


async def test_stopping_the_server_tells_clients_when_to_come_back(tmp_path: Path) -> None:
    settings = testing.settings_for(tmp_path, stream_retry_ms=1234)
    async with testing.running(settings) as rt:
        async with testing.serve(rt) as base:
            host, port = base.removeprefix("http://").split(":")
            reader, writer = await asyncio.open_connection(host, int(port))
            writer.write(f"GET /api/v1/stream HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
            await writer.drain()
            head = await reader.readuntil(b"event: snapshot")
            assert head.startswith(b"HTTP/1.1 200")
        rest = await asyncio.wait_for(reader.read(), 5)  # the server has stopped: read to the end
        writer.close()
        assert b"retry: 1234" in rest
