"""The live SSE stream against a real server on an ephemeral port."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from sirena import auth, testing
from sirena.runtime import Runtime


@pytest.fixture
async def live(tmp_path: Path) -> AsyncIterator[tuple[Runtime, str, dict[str, str]]]:
    async with testing.running(testing.settings_for(tmp_path, stream_heartbeat_s=0.2)) as rt:
        token, _ = await auth.create(rt.store, "test")
        async with testing.serve(rt) as base:
            yield rt, base, {"Authorization": f"Bearer {token}"}


async def post(base: str, headers: dict[str, str], path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=base) as client:
        response = await client.post(path, json=body, headers=headers)
        assert response.status_code in {200, 201}, response.text
        result: dict[str, Any] = response.json()
        return result


async def test_snapshot_then_live_events_with_sequence_ids(live: tuple[Runtime, str, dict[str, str]]) -> None:
    _rt, base, headers = live
    before = await post(base, headers, "/api/v1/alerts", {"regions": ["14"]})
    async with testing.stream(base) as reader:
        snap = await reader.next()
        assert snap["event"] == "snapshot"
        assert [a["id"] for a in snap["data"]["alerts"]] == [before["id"]]
        assert snap["id"] == str(snap["data"]["seq"]) == "1"
        alert = await post(base, headers, "/api/v1/alerts", {"regions": ["31"], "threats": [{"type": "drones"}]})
        issued = await reader.next()
        assert issued["event"] == "alert.issued"
        assert issued["id"] == "2"
        assert issued["data"]["seq"] == 2
        assert issued["data"]["type"] == "alert.issued"
        assert issued["data"]["alert"] == alert
        await post(base, headers, f"/api/v1/alerts/{alert['id']}/end")
        ended = await reader.next()
        assert (ended["event"], ended["data"]["alert"]["state"]) == ("alert.ended", "ended")


async def test_two_concurrent_clients_both_receive_an_alert(live: tuple[Runtime, str, dict[str, str]]) -> None:
    _, base, headers = live
    async with testing.stream(base) as first, testing.stream(base) as second:
        await first.next()
        await second.next()
        alert = await post(base, headers, "/api/v1/alerts", {"regions": ["31"]})
        got = await asyncio.gather(first.next(), second.next())
        assert [g["data"]["alert"]["id"] for g in got] == [alert["id"], alert["id"]]


async def test_region_and_status_filters(live: tuple[Runtime, str, dict[str, str]]) -> None:
    rt, base, headers = live
    raion = rt.registry.children("27")[0].id
    async with (
        testing.stream(base, f"/api/v1/stream?regions={raion}") as lviv_raion,
        testing.stream(base, "/api/v1/stream?statuses=exercise") as drills,
        testing.stream(base) as everyone,
    ):
        for reader in (lviv_raion, drills, everyone):
            await reader.next()
        kyiv = await post(base, headers, "/api/v1/alerts", {"regions": ["31"]})
        drill = await post(base, headers, "/api/v1/alerts", {"regions": ["27"], "status": "exercise"})
        lviv = await post(base, headers, "/api/v1/alerts", {"regions": ["27"]})  # the raion's oblast: covers it
        hromada = await post(base, headers, "/api/v1/alerts", {"regions": [rt.registry.children(raion)[0].id]})
        assert (await everyone.next())["data"]["alert"]["id"] == kyiv["id"]
        assert (await everyone.next())["data"]["alert"]["id"] == lviv["id"]  # exercises are not for everyone
        assert (await drills.next())["data"]["alert"]["id"] == drill["id"]
        assert (await lviv_raion.next())["data"]["alert"]["id"] == lviv["id"]
        assert (await lviv_raion.next())["data"]["alert"]["id"] == hromada["id"]


async def test_resume_from_last_event_id_gets_exactly_the_missed_events(
    live: tuple[Runtime, str, dict[str, str]],
) -> None:
    _, base, headers = live
    async with testing.stream(base) as reader:
        await reader.next()
        first = await post(base, headers, "/api/v1/alerts", {"regions": ["31"]})
        seen = await reader.next()
        last_id = reader.last_id
    assert seen["data"]["alert"]["id"] == first["id"]
    missed = [await post(base, headers, "/api/v1/alerts", {"regions": [r]}) for r in ("14", "4")]
    await post(base, headers, f"/api/v1/alerts/{first['id']}/end")
    drill = await post(base, headers, "/api/v1/alerts", {"regions": ["8"], "status": "exercise"})
    assert drill["status"] == "exercise"
    async with testing.stream(base, headers={"Last-Event-ID": str(last_id)}) as resumed:
        got = [await resumed.next() for _ in range(4)]
        assert [g["event"] for g in got] == ["alert.issued", "alert.issued", "alert.ended", "alert.all_clear"]
        assert [g["data"]["alert"]["id"] for g in got[:3]] == [missed[0]["id"], missed[1]["id"], first["id"]]
        assert got[3]["data"]["all_clear"]["alert_id"] == first["id"]
        assert [int(g["id"]) for g in got] == [2, 3, 4, 5]
        later = await post(base, headers, "/api/v1/alerts", {"regions": ["9"]})
        nxt = await resumed.next()
        assert nxt["data"]["alert"]["id"] == later["id"]  # the exercise (seq 6) was filtered out


async def test_heartbeats_keep_an_idle_stream_alive(live: tuple[Runtime, str, dict[str, str]]) -> None:
    _, base, _ = live
    async with (
        httpx.AsyncClient(base_url=base, timeout=5) as client,
        client.stream("GET", "/api/v1/stream") as response,
    ):
        assert response.headers["content-type"].startswith("text/event-stream")
        seen = ""
        async for chunk in response.aiter_text():
            seen += chunk
            if seen.count(": heartbeat") >= 2:
                break
        assert seen.startswith("retry: 2000")


async def test_events_written_by_another_process_reach_the_stream(
    live: tuple[Runtime, str, dict[str, str]], tmp_path: Path
) -> None:
    rt, base, _ = live
    async with testing.stream(base) as reader:
        await reader.next()
        # a second store on the same database, as the CLI would open it
        async with testing.running(rt.settings) as other:
            from sirena.domain import AlertDraft, Target

            written = await other.service.issue(AlertDraft(target=Target(regions=("31",))))
        got = await reader.next()
        assert got["data"]["alert"]["id"] == written.event.alert.id
