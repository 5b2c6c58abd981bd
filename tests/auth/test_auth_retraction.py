"""Instant retraction: one call cancels an alert as issued in error, with a prepared message in both languages,
and every channel shows the cancellation. The time from the call to each channel showing it is measured and
printed (run with ``-s``); the bound asserted is only a generous timeout, the figure goes in the report."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import httpx
from test_auth_exercise_separation import Scene, live_channels, routes, scene_settings

from sirena import auth, testing
from sirena.auth import accounts
from sirena.web import create_app

REGION = "14"
BOUND_S = 10.0
EN = "This alert was issued in error and is cancelled. No action is needed. Reason: wrong oblast selected"
UK = "Цю тривогу оголошено помилково, її скасовано. Жодних дій не потрібно. Причина: wrong oblast selected"


def polled(alert_id: str) -> dict[str, tuple[str, Callable[[httpx.Response], bool]]]:
    """Views a client polls, each with the test that it shows the alert as gone."""
    return {
        "/api/v1/alerts/{alert_id}": (f"/api/v1/alerts/{alert_id}", lambda r: r.json()["state"] == "cancelled"),
        "/api/v1/alerts": ("/api/v1/alerts", lambda r: alert_id not in {a["id"] for a in r.json()["alerts"]}),
        "/api/v1/regions/{region_id}": (f"/api/v1/regions/{REGION}", lambda r: r.json()["state"] == "calm"),
        "/api/v1/regions/states": ("/api/v1/regions/states", lambda r: REGION not in r.json()["states"]),
        "/api/v1/alerts/{alert_id}.cap": (
            f"/api/v1/alerts/{alert_id}.cap",
            lambda r: "<msgType>Cancel</msgType>" in r.text,
        ),
        "/cap/feed.atom": ("/cap/feed.atom", lambda r: alert_id not in r.text),
        "/compat/alerts-in-ua/v1/alerts/active.json": (
            "/compat/alerts-in-ua/v1/alerts/active.json",
            lambda r: REGION not in {a["location_uid"] for a in r.json()["alerts"]},
        ),
        "/compat/ukrainealarm/api/v3/alerts": (
            "/compat/ukrainealarm/api/v3/alerts",
            lambda r: REGION not in {a["regionId"] for a in r.json()},
        ),
    }


async def test_one_call_retracts_an_alert_on_every_channel(tmp_path: Path) -> None:
    settings = scene_settings(tmp_path)
    async with testing.running(settings) as rt, testing.serve(rt) as base, httpx.AsyncClient(base_url=base) as client:
        await accounts.add_user(rt.store, rt.registry, "ops", "operator", scopes=("UA",))
        token, _ = await auth.create_for(rt.store, "desk", user="ops")
        headers = {"Authorization": f"Bearer {token}"}
        scene = Scene(rt, base, headers, client)
        present = {path for _, path in routes(create_app(runtime=rt))}

        issued = await client.post("/api/v1/alerts", json={"regions": [REGION]}, headers=headers)
        assert issued.status_code == 201
        alert_id = issued.json()["id"]
        views = {name: probe for name, probe in polled(alert_id).items() if name in present}

        async with AsyncExitStack() as stack:
            live = {
                n: await stack.enter_async_context(c.listen(scene, ""))
                for n, c in live_channels(scene, present).items()
            }
            start = time.perf_counter()
            seen: dict[str, float] = {}

            async def until_live(name: str, next_alert: Callable[[], Awaitable[dict[str, Any]]]) -> None:
                while True:
                    alert = await next_alert()
                    if alert["id"] == alert_id and alert["state"] == "cancelled":
                        assert (alert["instruction"]["en"], alert["instruction"]["uk"]) == (EN, UK)
                        seen[name] = time.perf_counter() - start
                        return

            async def until_polled(name: str, url: str, shows: Callable[[httpx.Response], bool]) -> None:
                while not shows(await client.get(url, headers=headers)):  # noqa: ASYNC110 - a polling client
                    await asyncio.sleep(0.005)
                seen[name] = time.perf_counter() - start

            waiting = [asyncio.create_task(until_live(n, r)) for n, r in live.items()]
            cancel = await client.post(
                f"/api/v1/alerts/{alert_id}/cancel", json={"reason": "wrong oblast selected"}, headers=headers
            )
            seen["cancel answered"] = time.perf_counter() - start
            waiting += [asyncio.create_task(until_polled(n, url, ok)) for n, (url, ok) in views.items()]
            await asyncio.wait_for(asyncio.gather(*waiting), BOUND_S)

        assert cancel.status_code == 200, cancel.text
        body = cancel.json()
        assert body["state"] == "cancelled"
        assert (body["instruction"]["en"], body["instruction"]["uk"]) == (EN, UK)
        assert {"/api/v1/stream", "/api/v1/alerts/{alert_id}"} <= seen.keys()
        report = ", ".join(f"{name} {ms * 1000:.1f} ms" for name, ms in sorted(seen.items(), key=lambda kv: kv[1]))
        print(f"\nretraction, cancel call to channel showing it: {report}; slowest {max(seen.values()) * 1000:.1f} ms")


async def test_cancel_without_a_reason_still_carries_the_prepared_message(tmp_path: Path) -> None:
    async with testing.api(tmp_path) as api:
        alert = (await api.client.post("/api/v1/alerts", json={"regions": ["31"]}, headers=api.auth)).json()
        cancelled = await api.client.post(f"/api/v1/alerts/{alert['id']}/cancel", headers=api.auth)
        assert cancelled.json()["instruction"] == {
            "en": "This alert was issued in error and is cancelled. No action is needed.",
            "uk": "Цю тривогу оголошено помилково, її скасовано. Жодних дій не потрібно.",
        }
        again = await api.client.post(f"/api/v1/alerts/{alert['id']}/cancel", headers=api.auth)
        assert again.status_code == 409
