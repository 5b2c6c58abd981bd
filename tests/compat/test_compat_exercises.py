"""Exercises and tests never reach the compatible APIs: not as alerts, states, history, indexes or times."""

from __future__ import annotations

import json
from typing import Any

import httpx
from compat_live import AIU, UAA, Live


def paths(live: Live) -> list[str]:
    hromada = next(r.id for r in live.runtime.registry.by_level("hromada") if r.parent_id == "79")
    aiu = [
        "/v1/alerts/active.json",
        "/v1/regions/14/alerts/week_ago.json",
        "/v1/regions/31/alerts/month_ago.json",
        *(f"/{v}/iot/active_air_raid_alerts.json" for v in ("v1", "v2")),
        *(f"/{v}/iot/active_air_raid_alerts_by_oblast.json" for v in ("v1", "v2")),
        *(f"/{v}/iot/active_air_raid_alerts/{uid}.json" for v in ("v1", "v2") for uid in ("31", "14", "79")),
    ]
    uaa = [
        "/api/v3/alerts",
        "/api/v3/alerts/status",
        *(f"/api/v3/alerts/{r}" for r in ("31", "14", "79", hromada)),
        *(f"/api/v3/alerts/regionHistory?regionId={r}" for r in ("31", "79")),
    ]
    return [f"{AIU}{p}" for p in aiu] + [f"{UAA}{p}" for p in uaa]


def settled(body: Any) -> Any:
    """Drop what a running alert's history entry computes from the clock (its provisional end)."""
    if isinstance(body, list) and body and isinstance(body[0], dict) and "alarms" in body[0]:
        for alarm in body[0]["alarms"]:
            if alarm["isContinue"]:
                alarm.pop("endDate")
                alarm.pop("duration")
    return body


async def everything(live: Live) -> dict[str, tuple[int, str, Any]]:
    found = {}
    async with httpx.AsyncClient(base_url=live.base) as client:
        for path in paths(live):
            key = live.token if path.startswith(UAA) else f"Bearer {live.token}"
            response = await client.get(path, headers={"Authorization": key})
            assert response.status_code == 200, (path, response.text)
            found[path] = (
                response.status_code,
                response.headers["last-modified"],
                settled(json.loads(response.content)),
            )
    return found


async def test_exercises_and_tests_leave_every_compatible_endpoint_unchanged(live: Live) -> None:
    running = await live.issue(["31"], threats=[{"type": "drones", "level": "yellow"}])
    finished = await live.issue(["14"])
    await live.act(finished["id"], "end")
    live.clock.advance(5)
    before = await everything(live)
    assert before[f"{UAA}/api/v3/alerts/status"][2] == {"lastActionIndex": 3}
    assert [a["location_uid"] for a in before[f"{AIU}/v1/alerts/active.json"][2]["alerts"]] == [running["regions"][0]]

    drill = await live.issue(["UA"], status="exercise", threats=[{"type": "ballistic_missiles"}])
    await live.issue(["79"], status="exercise", kind="urban_fights")
    probe = await live.issue(["31", "14"], status="test", level="yellow")
    async with httpx.AsyncClient(base_url=live.base) as client:
        patched = await client.patch(f"/api/v1/alerts/{drill['id']}", json={"level": "yellow"}, headers=live.auth)
        assert patched.status_code == 200
    await live.act(probe["id"], "end")
    ended_drill = await live.issue(["12"], status="exercise")
    await live.act(ended_drill["id"], "cancel")
    live.clock.advance(5)

    after = await everything(live)
    assert after == before
