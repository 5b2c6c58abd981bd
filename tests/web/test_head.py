"""HEAD answers as GET would, without a body: in process and on a real server, live streams included."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from sirena import auth, testing
from sirena.domain import AlertDraft, Target
from sirena.runtime import Runtime

PATHS = [
    "/",  # a page
    "/history",
    "/api/v1/alerts",  # a JSON list
    "/api/v1/regions/31",
    "/static/sirena.css",  # a static file
    "/healthz",
    "/readyz",
    "/cap/feed.atom",  # a feed
    "/openapi.json",
    "/api/v1/alerts/nope",  # an error is the same error
    "/compat/alerts-in-ua/v1/alerts/active.json",
    "/compat/ukrainealarm/api/v3/alerts",
]


def compared(headers: httpx.Headers) -> dict[str, str]:
    return {k: v for k, v in headers.items() if k != "date"}


def auth_for(path: str, token: str) -> dict[str, str]:
    return {"Authorization": token if "ukrainealarm" in path else f"Bearer {token}"}


async def subscribers_gone(rt: Runtime) -> bool:
    """Whether the hub has no client left, waiting for it however long a busy machine takes to let go of one."""
    async with asyncio.timeout(60):
        while rt.hub.clients or rt.hub.direct_count:  # noqa: ASYNC110 - polling
            await asyncio.sleep(0.02)
    return True


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[testing.Api]:
    async with testing.api(tmp_path) as api:
        await api.runtime.service.issue(AlertDraft(target=Target(regions=("31",))))
        yield api


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[tuple[Runtime, str, str]]:
    async with testing.running(testing.settings_for(tmp_path)) as rt, testing.serve(rt) as base:
        await rt.service.issue(AlertDraft(target=Target(regions=("31",))))
        token, _ = await auth.create(rt.store, "head")
        yield rt, base, token


@pytest.mark.parametrize("path", PATHS)
async def test_head_in_process_is_get_without_the_body(api: testing.Api, path: str) -> None:
    get = await api.client.get(path, headers=auth_for(path, api.token))
    head = await api.client.head(path, headers=auth_for(path, api.token))
    assert head.status_code == get.status_code
    assert compared(head.headers) == compared(get.headers)
    assert head.content == b""
    assert get.content
    if "content-length" in get.headers:
        assert head.headers["content-length"] == str(len(get.content))


async def test_head_of_the_stream_in_process_ends_at_once(api: testing.Api) -> None:
    head = await api.client.head("/api/v1/stream")
    assert head.status_code == 200
    assert head.headers["content-type"] == "text/event-stream; charset=utf-8"
    assert head.headers["cache-control"] == "no-cache"
    assert head.content == b""
    assert await subscribers_gone(api.runtime)


async def test_head_of_a_refused_stream_is_the_refusal(api: testing.Api) -> None:
    get = await api.client.get("/api/v1/stream?regions=nope")
    head = await api.client.head("/api/v1/stream?regions=nope")
    assert get.status_code == head.status_code == 422
    assert compared(head.headers) == compared(get.headers)
    assert head.content == b""


async def raw(base: str, request: str) -> tuple[bytes, bytes]:
    """One request on its own connection, read to the end: the response head and whatever follows it."""
    url = urlsplit(base)
    reader, writer = await asyncio.open_connection(url.hostname, url.port)
    writer.write(request.encode("latin-1"))
    await writer.drain()
    data = await reader.read()
    writer.close()
    await writer.wait_closed()
    head, _, rest = data.partition(b"\r\n\r\n")
    return head, rest


@pytest.mark.parametrize("path", PATHS)
async def test_head_on_the_server_is_get_without_the_body(served: tuple[Runtime, str, str], path: str) -> None:
    _, base, token = served
    headers = auth_for(path, token)
    async with httpx.AsyncClient(base_url=base) as client:
        get = await client.get(path, headers=headers)
    sent = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    host = urlsplit(base).netloc  # as httpx sent it: the feed links carry it
    head, rest = await raw(base, f"HEAD {path} HTTP/1.1\r\nHost: {host}\r\n{sent}Connection: close\r\n\r\n")
    assert rest == b""  # no body on the wire
    status_line, *lines = head.decode("latin-1").split("\r\n")
    assert status_line.split(" ")[1] == str(get.status_code)
    got = {k.lower(): v for k, _, v in (line.partition(": ") for line in lines)}
    expected = compared(get.headers)
    expected["connection"] = "close"  # asked for
    assert {k: v for k, v in got.items() if k != "date"} == expected


async def test_head_of_the_stream_on_the_server_ends_at_once(served: tuple[Runtime, str, str]) -> None:
    rt, base, _ = served
    head, rest = await raw(base, "HEAD /api/v1/stream HTTP/1.1\r\nHost: sirena\r\nConnection: close\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 ")
    assert b"content-type: text/event-stream; charset=utf-8" in head
    assert b"cache-control: no-cache" in head
    assert rest == b""
    assert await subscribers_gone(rt)


async def test_paths_without_get_stay_405_and_allow_names_head_beside_get(api: testing.Api) -> None:
    alert_id = (await api.client.get("/api/v1/alerts")).json()["alerts"][0]["id"]
    post_only = await api.client.head(f"/api/v1/alerts/{alert_id}/end", headers=api.auth)
    assert post_only.status_code == 405
    assert post_only.headers["allow"] == "POST"
    assert post_only.content == b""
    get_only = await api.client.delete("/healthz")
    assert get_only.status_code == 405
    assert get_only.headers["allow"] == "GET, HEAD"
    assert get_only.json()["status"] == 405


async def test_openapi_gains_no_head_operations(api: testing.Api) -> None:
    paths = (await api.client.get("/openapi.json")).json()["paths"]
    assert "/healthz" in paths
    assert all("head" not in operations for operations in paths.values())
