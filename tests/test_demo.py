"""The demo feed replays a real day as exercise alerts only."""

from __future__ import annotations

import asyncio
from datetime import date
from pathlib import Path

from sirena import testing
from sirena.domain import AlertState, Status
from sirena.history.dataset import official_day
from sirena.regions import load_builtin


def test_the_demo_day_resolves_every_row_to_a_region() -> None:
    alerts = official_day(load_builtin("ua"), date(2022, 10, 10))
    assert len(alerts) == 57  # every official alert that started that day (UTC)
    assert all(a.finished_at > a.started_at for a in alerts)


async def test_demo_alerts_are_exercises_and_come_and_go(tmp_path: Path) -> None:
    settings = testing.settings_for(tmp_path, demo=True, demo_speed=20_000.0)
    async with testing.running(settings) as rt:
        for _ in range(100):
            await asyncio.sleep(0.05)
            if await rt.store.last_seq() > 60:
                break
        every = await rt.service.find(statuses=None, limit=10_000)
        assert len(every) > 20
        assert {a.status for a in every} == {Status.EXERCISE}
        assert {a.issuer for a in every} == {"demo"}
        assert any(a.state is AlertState.ENDED for a in every)
        assert await rt.service.active() == []  # nothing real
