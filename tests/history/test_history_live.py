"""Live alerts reach the rollups when they end: once each, actual only, whatever process wrote them."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from click.testing import CliRunner

from sirena import testing
from sirena.cli import main
from sirena.domain.model import AlertDraft, Circle, Status, Target
from sirena.history.archive import History
from sirena.history.follower import RollupFollower
from sirena.history.stats import Group, StatsQuery
from sirena.runtime import Runtime
from sirena.service import AlertService
from sirena.store import SQLiteStore

START = datetime(2026, 3, 1, 10, 30, tzinfo=UTC)
UTCZONE = ZoneInfo("UTC")


def _hours(region: str) -> StatsQuery:
    return StatsQuery(
        region, datetime(2026, 3, 1, 10, tzinfo=UTC), datetime(2026, 3, 1, 14, tzinfo=UTC), Group.HOUR, UTCZONE
    )


async def _settled(rt: Runtime, region: str, alerts: int) -> list[tuple[int, float]]:
    history = History(rt.store, rt.registry)
    for _ in range(200):
        result = await history.stats(_hours(region))
        if result.alerts >= alerts:
            return [(b.alerts, b.minutes) for b in result.buckets]
        await asyncio.sleep(0.05)
    raise AssertionError(f"rollups of region {region} never reached {alerts} alerts")


async def _issue_and_end(service: AlertService, clock: testing.FakeClock, draft: AlertDraft, minutes: float) -> None:
    issued = await service.issue(draft)
    clock.advance(minutes * 60)
    await service.end(issued.event.alert.id)


async def test_ended_actual_alerts_are_rolled_up_once(tmp_path: Path) -> None:
    settings = testing.settings_for(tmp_path)
    clock = testing.FakeClock(START)
    async with testing.running(settings, clock=clock) as rt:
        await _issue_and_end(rt.service, clock, AlertDraft(target=Target(regions=("31", "14"))), 90)
        clock.now = START
        drill = AlertDraft(target=Target(regions=("31",)), status=Status.EXERCISE)
        await _issue_and_end(rt.service, clock, drill, 30)
        clock.now = START
        await _issue_and_end(rt.service, clock, AlertDraft(target=Target(circle=Circle(50.45, 30.52, 3))), 30)
        clock.now = START
        wrong = await rt.service.issue(AlertDraft(target=Target(regions=("14",))))
        clock.advance(600)
        await rt.service.cancel(wrong.event.alert.id)
        kyiv = await _settled(rt, "31", 1)
        oblast = await _settled(rt, "14", 2)
    # 10:30-12:00 in Kyiv: one alert; the drill and the circle (Kyiv only partly covered) do not count
    assert kyiv == [(1, 30.0), (0, 60.0), (0, 0.0), (0, 0.0)]
    # Kyiv Oblast: the same alert, and the cancelled one (10:30-10:40): people were under alert all the same
    assert oblast == [(2, 40.0), (0, 60.0), (0, 0.0), (0, 0.0)]
    async with testing.running(settings, clock=clock) as rt:  # a restart counts nothing twice
        await RollupFollower(rt.store).catch_up()
        assert await _settled(rt, "31", 1) == kyiv
        result = await History(rt.store, rt.registry).stats(_hours("31"))
        assert result.to_json()["buckets"][0] == {"start": "2026-03-01T10:00:00+00:00", "alerts": 1, "minutes": 30.0}


async def test_alerts_written_while_no_server_runs_are_rolled_up_later(tmp_path: Path) -> None:
    settings = testing.settings_for(tmp_path)
    store = SQLiteStore(settings.database_url)  # what the CLI does: another process, no relay, no follower
    await store.open()
    try:
        async with testing.running(settings) as rt:
            registry = rt.registry
        clock = testing.FakeClock(START)
        service = AlertService(store, registry, clock)
        await _issue_and_end(service, clock, AlertDraft(target=Target(regions=("22",))), 45)
    finally:
        await store.close()
    async with testing.running(settings) as rt:
        assert await _settled(rt, "22", 1) == [(1, 30.0), (0, 15.0), (0, 0.0), (0, 0.0)]


def test_sirena_stats_catches_up_and_prints(tmp_path: Path) -> None:
    db = ["--database-url", f"sqlite:///{tmp_path / 'cli.db'}"]
    runner = CliRunner()
    issued = runner.invoke(main, ["issue", "--region", "31", *db])
    assert issued.exit_code == 0, issued.output
    ended = runner.invoke(main, ["end", issued.output.strip(), *db])
    assert ended.exit_code == 0, ended.output
    today = datetime.now(UTC).date()
    window = ["--from", today.isoformat(), "--to", "2100-01-01", "--group", "month", "--tz", "UTC"]
    out = runner.invoke(main, ["stats", "--region", "31", "--json", *window, *db])
    assert out.exit_code == 0, out.output
    body = json.loads(out.output)
    assert body["total"]["alerts"] == 1
    assert body["source"] == ["cap", "official", "sirena"]
    table = runner.invoke(main, ["stats", "--region", "31", "--region", "14", *window, *db])
    assert table.exit_code == 0, table.output
    assert "31 Kyiv" in table.output and "14 Kyiv Oblast" in table.output
    assert "▁" in table.output  # the sparkline
