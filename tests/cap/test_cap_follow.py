"""One Sirena follows another through its Atom feed and CAP: Sirena → CAP → Sirena, over real HTTP.

Instance A serves its API on a real port; instance B polls A's ``/cap/feed.atom``, fetches each linked CAP message
with conditional GET, and applies it. The alert B ends up with says what A's says, and follows it through an
update and the end.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from sirena import auth, testing
from sirena.cap.exchange import system_context
from sirena.cap.pull import FeedPuller
from sirena.domain.model import Alert, AlertState
from sirena.runtime import Runtime
from sirena.store.base import AlertQuery

COPIED = (
    "kind",
    "level",
    "status",
    "threats",
    "target",
    "regions",
    "partial_regions",
    "headline",
    "instruction",
    "time_to_shelter_s",
    "expires_at",
    "started_at",
)


@pytest.fixture
async def origin(tmp_path: Path) -> AsyncIterator[tuple[Runtime, str, dict[str, str]]]:
    settings = testing.settings_for(tmp_path / "a", cap_sender="sirena@origin.example")
    (tmp_path / "a").mkdir()
    async with testing.running(settings) as rt:
        token, _ = await auth.create(rt.store, "ops")
        async with testing.serve(rt) as base:
            yield rt, base, {"Authorization": f"Bearer {token}"}


async def only_alert(rt: Runtime) -> Alert:
    (alert,) = await rt.store.find_alerts(AlertQuery())
    return alert


def same(a: Alert, b: Alert) -> dict[str, tuple[Any, Any]]:
    return {name: (getattr(a, name), getattr(b, name)) for name in COPIED if getattr(a, name) != getattr(b, name)}


async def test_a_follower_mirrors_an_alert_through_update_and_end(
    origin: tuple[Runtime, str, dict[str, str]], tmp_path: Path
) -> None:
    a, base, headers = origin
    (tmp_path / "b").mkdir()
    async with (
        testing.running(testing.settings_for(tmp_path / "b", cap_sender="sirena@follower.example")) as b,
        httpx.AsyncClient(base_url=base, headers=headers) as client,
    ):
        feed = f"{base}/cap/feed.atom"
        follower = FeedPuller(
            dataclasses.replace(b.cap.config, feeds=(feed,)), b.cap.gateway, system_context("cap:feed")
        )
        state = follower.states[feed]
        body = {
            "regions": ["31", "14"],
            "kind": "air_raid",
            "level": "red",
            "threats": [{"type": "ballistic_missiles"}, {"type": "drones", "level": "yellow"}],
            "headline": {"uk": "Ракетна небезпека <&>", "en": "Missile danger"},
            "instruction": {"uk": "Негайно в укриття", "en": "Go to a shelter now"},
            "time_to_shelter_s": 90,
            "expires_at": "2099-01-01T00:00:00.250Z",
        }
        issued = (await client.post("/api/v1/alerts", json=body)).json()
        async with follower.client() as http:
            await follower.poll(http, state)
            mirror = await only_alert(b)
            original = await a.store.get_alert(issued["id"])
            assert original is not None
            assert same(original, mirror) == {}
            assert (mirror.source.value, mirror.issuer) == ("cap", "cap:sirena@origin.example")

            assert (await follower.poll(http, state)).changed is False  # nothing new: one 304

            await client.patch(f"/api/v1/alerts/{issued['id']}", json={"regions": ["27"], "level": "yellow"})
            await follower.poll(http, state)
            original = await a.store.get_alert(issued["id"])
            updated = await only_alert(b)
            assert original is not None and same(original, updated) == {}
            assert (updated.id, updated.version, updated.regions) == (mirror.id, 2, ("27",))

            await client.post(f"/api/v1/alerts/{issued['id']}/end")
            result = await follower.poll(http, state)
            assert result.changed and result.errors == ()
            ended = await only_alert(b)
            assert (ended.id, ended.state) == (mirror.id, AlertState.ENDED)
