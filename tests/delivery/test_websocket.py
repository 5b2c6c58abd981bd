"""`/api/v1/ws`: the SSE stream's frames, filters and resume over WebSocket, against a real server: the front of
`sirena serve` (which writes frames straight to sockets) and the ASGI route (any other ASGI server)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from sirena import auth, testing
from sirena.runtime import Runtime


@pytest.fixture(params=["front", "asgi"])
async def live(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[tuple[Runtime, str, dict[str, str]]]:
    async with _served(tmp_path, request.param == "front", ws_hello_s=0.2) as served:
        yield served


@pytest.fixture(params=["front", "asgi"])
async def patient(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[tuple[Runtime, str, dict[str, str]]]:
    """As ``live``, with a window for the first message that no busy machine misses."""
    async with _served(tmp_path, request.param == "front", ws_hello_s=60.0) as served:
        yield served


@contextlib.asynccontextmanager
async def _served(tmp_path: Path, front: bool, ws_hello_s: float) -> AsyncIterator[tuple[Runtime, str, dict[str, str]]]:
    settings = testing.settings_for(tmp_path, stream_heartbeat_s=0.3, ws_hello_s=ws_hello_s)
    async with testing.running(settings) as rt:
        token, _ = await auth.create(rt.store, "test")
        async with testing.serve(rt, front=front) as base:
            yield rt, base, {"Authorization": f"Bearer {token}"}


def ws_url(base: str, query: str = "") -> str:
    return base.replace("http://", "ws://") + "/api/v1/ws" + query


async def post(base: str, headers: dict[str, str], path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=base) as client:
        response = await client.post(path, json=body, headers=headers)
        assert response.status_code in {200, 201}, response.text
        result: dict[str, Any] = response.json()
        return result


async def frame(ws: ClientConnection, within: float = 5.0, *, skip: tuple[str, ...] = ("heartbeat",)) -> dict[str, Any]:
    while True:
        data: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), within))
        if data.get("type") not in skip:
            return data


async def test_same_frames_as_the_stream(live: tuple[Runtime, str, dict[str, str]]) -> None:
    _, base, headers = live
    before = await post(base, headers, "/api/v1/alerts", {"regions": ["14"]})
    async with connect(ws_url(base)) as ws, testing.stream(base) as sse:
        snap = await frame(ws)
        assert snap == {"type": "snapshot", "seq": 1, "alerts": [before]}
        assert (await sse.next())["event"] == "snapshot"
        alert = await post(base, headers, "/api/v1/alerts", {"regions": ["31"], "threats": [{"type": "drones"}]})
        got = await frame(ws)
        via_sse = await sse.next()
        assert got == via_sse["data"]
        assert got == {"seq": 2, "type": "alert.issued", "alert": alert}
        await post(base, headers, f"/api/v1/alerts/{alert['id']}/end")
        ended = await frame(ws)
        assert (ended["type"], ended["alert"]["state"], ended["seq"]) == ("alert.ended", "ended", 3)
        assert ended == (await sse.next())["data"]


async def test_query_filters_and_a_first_message_that_replaces_them(live: tuple[Runtime, str, dict[str, str]]) -> None:
    rt, base, headers = live
    raion = rt.registry.children("27")[0].id
    async with (
        connect(ws_url(base, f"?regions={raion}")) as lviv_raion,
        connect(ws_url(base, "?regions=31")) as replaced,
        connect(ws_url(base)) as everyone,
    ):
        await replaced.send(json.dumps({"regions": ["27"], "statuses": ["exercise"]}))
        for ws in (lviv_raion, replaced, everyone):
            assert (await frame(ws))["type"] == "snapshot"
        kyiv = await post(base, headers, "/api/v1/alerts", {"regions": ["31"]})
        drill = await post(base, headers, "/api/v1/alerts", {"regions": ["27"], "status": "exercise"})
        lviv = await post(base, headers, "/api/v1/alerts", {"regions": ["27"]})
        assert (await frame(everyone))["alert"]["id"] == kyiv["id"]
        assert (await frame(everyone))["alert"]["id"] == lviv["id"]
        assert (await frame(lviv_raion))["alert"]["id"] == lviv["id"]
        assert (await frame(replaced))["alert"]["id"] == drill["id"]  # not Kyiv: the message replaced ?regions=31


async def test_resume_gets_exactly_the_missed_events(live: tuple[Runtime, str, dict[str, str]]) -> None:
    _, base, headers = live
    first = await post(base, headers, "/api/v1/alerts", {"regions": ["31"]})
    missed = [await post(base, headers, "/api/v1/alerts", {"regions": [r]}) for r in ("14", "4")]
    await post(base, headers, "/api/v1/alerts", {"regions": ["8"], "status": "exercise"})
    async with connect(ws_url(base)) as ws:
        await ws.send(json.dumps({"last_seq": 1}))
        got = [await frame(ws) for _ in range(2)]
        assert [g["alert"]["id"] for g in got] == [m["id"] for m in missed]
        assert [g["seq"] for g in got] == [2, 3]
        later = await post(base, headers, f"/api/v1/alerts/{first['id']}/end")
        nxt = await frame(ws)
        assert (nxt["seq"], nxt["alert"]["id"]) == (5, later["id"])  # seq 4 (an exercise) filtered out
    async with connect(ws_url(base, "?since_seq=3")) as ws:
        assert (await frame(ws))["seq"] == 5  # no snapshot when resuming


async def test_ping_pong_heartbeats_and_errors(live: tuple[Runtime, str, dict[str, str]]) -> None:
    _, base, _ = live
    async with connect(ws_url(base)) as ws:
        assert (await frame(ws))["type"] == "snapshot"
        await ws.send(json.dumps({"type": "ping", "id": 7}))
        assert await frame(ws) == {"type": "pong", "id": 7}
        assert (await frame(ws, skip=()))["type"] == "heartbeat"
        await ws.send(json.dumps({"regions": ["99999"]}))
        error = await frame(ws)
        assert error["type"] == "error"
        assert error["problem"]["type"] == "/problems/unknown-region"
        await ws.send("hello")
        assert (await frame(ws))["problem"]["field"] == "message"
        pong = await ws.ping()  # protocol-level ping, answered by the server
        await asyncio.wait_for(pong, 5)
    async with connect(ws_url(base, "?statuses=rumour")) as ws:
        error = await frame(ws)
        assert error["problem"]["type"] == "/problems/validation-failed"
        with pytest.raises(ConnectionClosed) as closed:
            await frame(ws)
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == 1008


@pytest.mark.parametrize("lang", ["uk", "en"])
@pytest.mark.parametrize(
    ("message", "field", "uk", "en"),
    [
        ({"regions": "31"}, "regions", "Значення має бути списком ідентифікаторів регіонів.", "a list of region ids"),
        ({"statuses": [1]}, "statuses", "Значення має бути списком статусів.", "a list of statuses"),
        ({"channels": "x"}, "channels", "Значення має бути списком ідентифікаторів каналів.", "a list of channel ids"),
        (
            {"last_seq": -1},
            "last_seq",
            "Значення має бути порядковим номером події (ціле число, не менше за 0).",
            "a sequence number",
        ),
    ],
)
async def test_a_malformed_filter_message_is_refused_in_the_clients_language(
    patient: tuple[Runtime, str, dict[str, str]], lang: str, message: dict[str, Any], field: str, uk: str, en: str
) -> None:
    _, base, _ = patient
    reason = uk if lang == "uk" else en
    async with connect(ws_url(base), additional_headers={"Accept-Language": lang}) as ws:
        await ws.send(json.dumps({"statuses": ["actual"]}))  # a good first message
        assert (await frame(ws))["type"] == "snapshot"
        await ws.send(json.dumps(message))  # a later message: refused, the stream goes on
        problem = (await frame(ws))["problem"]
        assert problem["type"] == "/problems/validation-failed"
        assert (problem["field"], problem["reason"]) == (field, reason)
        assert problem["detail"] == f"{field}: {reason}"
        await ws.send(json.dumps({"type": "ping"}))
        assert await frame(ws) == {"type": "pong"}
    async with connect(ws_url(base), additional_headers={"Accept-Language": f"{lang};q=0.9, de"}) as ws:
        await ws.send(json.dumps(message))  # the first message: refused, then closed
        problem = (await frame(ws))["problem"]
        assert (problem["field"], problem["reason"]) == (field, reason)
        with pytest.raises(ConnectionClosed) as closed:
            await frame(ws)
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == 1008


async def test_a_client_that_cannot_keep_up_is_cut_off_and_counted(tmp_path: Path) -> None:
    settings = testing.settings_for(tmp_path, stream_queue_size=2, ws_hello_s=0.05)
    async with testing.running(settings) as rt, testing.serve(rt, front=False) as base:
        from sirena.domain import AlertDraft, Target

        for region in ("31", "14", "8", "9"):
            await rt.service.issue(AlertDraft(target=Target(regions=(region,))))
        events = await rt.store.events_after(0)
        async with connect(ws_url(base)) as slow:
            assert (await frame(slow))["type"] == "snapshot"
            for event in events:  # a burst, faster than any client drains: the bus hands them over in one go
                rt.hub.publish(event)
            with pytest.raises(ConnectionClosed) as closed:
                while True:
                    await frame(slow)
            assert closed.value.rcvd is not None
            assert closed.value.rcvd.code == 1013
        assert rt.hub.stats.dropped_clients == 1
        async with httpx.AsyncClient(base_url=base) as http:
            page = (await http.get("/metrics")).text
        assert "sirena_stream_dropped_clients_total 1.0" in page
        assert "sirena_websocket_clients 0.0" in page


async def test_later_messages_change_filters_and_resume(live: tuple[Runtime, str, dict[str, str]]) -> None:
    _, base, headers = live
    async with connect(ws_url(base, "?regions=31")) as ws:
        assert (await frame(ws))["type"] == "snapshot"
        kyiv = await post(base, headers, "/api/v1/alerts", {"regions": ["31"]})
        assert (await frame(ws))["alert"]["id"] == kyiv["id"]
        heartbeat = await frame(ws, skip=())
        assert heartbeat == {"type": "heartbeat", "seq": 1}
        await ws.send(json.dumps({"regions": ["14"]}))
        assert await frame(ws) == {"type": "snapshot", "seq": 1, "alerts": []}
        await post(base, headers, "/api/v1/alerts", {"regions": ["31"]})
        kharkiv = await post(base, headers, "/api/v1/alerts", {"regions": ["14"]})
        assert (await frame(ws))["alert"]["id"] == kharkiv["id"]
        await ws.send(json.dumps({"regions": ["31", "14"], "last_seq": 1}))
        assert [(await frame(ws))["seq"] for _ in range(2)] == [2, 3]  # exactly the events after 1, no snapshot


async def test_a_stopping_server_asks_clients_to_come_back(live: tuple[Runtime, str, dict[str, str]]) -> None:
    rt, base, _ = live
    async with connect(ws_url(base)) as ws:
        assert (await frame(ws))["type"] == "snapshot"
        rt.hub.close()  # what draining a node does
        with pytest.raises(ConnectionClosed) as closed:
            await frame(ws)
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == 1013
