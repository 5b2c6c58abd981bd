"""Statistics from the rollups agree with a direct computation from the raw CSV rows."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from history_support import Imported, RawAlerts, direct, local_bounds, raw_alerts

from sirena import testing
from sirena.history.archive import History
from sirena.history.stats import Group, StatsQuery, parse_bound
from sirena.regions import RegionRegistry
from sirena.store import SQLiteStore

KYIV = ZoneInfo("Europe/Kyiv")
UTC = ZoneInfo("UTC")


@pytest.fixture(scope="module")
def alerts(raw: dict[str, list[dict[str, str]]], ua: RegionRegistry) -> RawAlerts:
    return raw_alerts(raw, ua)


@pytest.fixture
async def history(imported: Imported, ua: RegionRegistry) -> AsyncIterator[History]:
    store = SQLiteStore(f"sqlite:///{imported.path}")
    await store.open()
    try:
        yield History(store, ua)
    finally:
        await store.close()


async def _check(
    history: History,
    alerts: RawAlerts,
    region: str,
    first: date,
    last: date,
    group: str,
    tz: ZoneInfo,
    sources: frozenset[str],
    descendants: bool = False,
) -> list[tuple[int, float]]:
    query = StatsQuery(
        region_id=region,
        start=parse_bound(first, tz, "from"),
        end=parse_bound(last, tz, "to"),
        group=Group(group),
        tz=tz,
        sources=sources,
        descendants=descendants,
    )
    result = await history.stats(query)
    regions = {region, *history.registry.descendants(region)} if descendants else {region}
    expected = direct(alerts, regions, sources, local_bounds(first, last, group, tz))
    got = [(b.alerts, b.minutes) for b in result.buckets]
    assert got == expected, (region, first, last, group, tz, sources)
    starts = [b.start for b in result.buckets]
    assert starts[0] == parse_bound(first, tz, "from").astimezone(tz)
    assert all(s.tzinfo is not None and s.utcoffset() == s.astimezone(tz).utcoffset() for s in starts)
    return got


async def test_kyiv_days_across_the_autumn_clock_change(history: History, alerts: RawAlerts) -> None:
    got = await _check(
        history, alerts, "31", date(2022, 10, 1), date(2022, 11, 1), "day", KYIV, frozenset({"official"})
    )
    assert len(got) == 31
    assert got[9][0] > 0  # 10 October 2022, the first mass missile attack on Kyiv


async def test_an_oblast_with_its_raions_and_hromadas_by_month(history: History, alerts: RawAlerts) -> None:
    own = await _check(history, alerts, "9", date(2023, 1, 1), date(2024, 1, 1), "month", KYIV, frozenset({"official"}))
    with_descendants = await _check(
        history, alerts, "9", date(2023, 1, 1), date(2024, 1, 1), "month", KYIV, frozenset({"official"}), True
    )
    assert sum(a for a, _ in with_descendants) > sum(a for a, _ in own)  # Nikopol's hromada alerts


async def test_volunteer_hours_on_the_spring_clock_change_in_utc(history: History, alerts: RawAlerts) -> None:
    got = await _check(
        history, alerts, "22", date(2023, 3, 25), date(2023, 3, 27), "day", UTC, frozenset({"volunteer"})
    )
    assert len(got) == 2
    query = StatsQuery("22", parse_bound("2023-03-26", KYIV, "from"), parse_bound("2023-03-27", KYIV, "to"), Group.HOUR)
    hours = (await history.stats(query)).buckets
    assert len(hours) == 23  # the Kyiv day the clocks went forward


async def test_long_running_alerts_fill_every_minute(history: History, alerts: RawAlerts) -> None:
    got = await _check(
        history, alerts, "16", date(2023, 1, 1), date(2023, 4, 1), "month", KYIV, frozenset({"official"})
    )
    assert [m for _, m in got] == [31 * 1440, 28 * 1440, 31 * 1440 - 60]  # March loses an hour to summer time
    assert [a for a, _ in got] == [0, 0, 0]


async def test_sampled_regions_and_periods(history: History, alerts: RawAlerts, ua: RegionRegistry) -> None:
    chooser = random.Random(20221010)
    busy = sorted({region for (_, region, _) in alerts})
    for _ in range(8):
        region = chooser.choice(busy)
        year, month = chooser.choice([(2022, 5), (2022, 12), (2023, 7), (2023, 11), (2024, 2)])
        first = date(year, month, 1)
        last = date(year + (month == 12), month % 12 + 1, 1)
        group = chooser.choice(["day", "month"])
        tz = chooser.choice([KYIV, UTC])
        sources = chooser.choice(
            [frozenset({"official"}), frozenset({"volunteer"}), frozenset({"official", "volunteer"})]
        )
        await _check(history, alerts, region, first, last, group, tz, sources, descendants=chooser.random() < 0.3)


async def test_the_stats_api(imported: Imported, tmp_path: Path, alerts: RawAlerts) -> None:
    imported.copy(tmp_path, "sirena.db")
    async with testing.api(tmp_path) as api:
        query = {"region": "31", "from": "2022-10-10", "to": "2022-10-12", "group": "day"}
        response = await api.client.get("/api/v1/stats", params=query)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["tz"] == "Europe/Kyiv"
        assert body["source"] == ["cap", "official", "sirena"]  # volunteer would count the same alerts twice
        assert [b["start"] for b in body["buckets"]] == ["2022-10-10T00:00:00+03:00", "2022-10-11T00:00:00+03:00"]
        expected = direct(
            alerts, {"31"}, {"official"}, local_bounds(date(2022, 10, 10), date(2022, 10, 12), "day", KYIV)
        )
        assert [(b["alerts"], b["minutes"]) for b in body["buckets"]] == expected
        whole = direct(
            alerts, {"31"}, {"official"}, local_bounds(date(2022, 10, 10), date(2022, 10, 12), "month", KYIV)
        )
        assert body["total"] == {"alerts": whole[0][0], "minutes": whole[0][1]}
        every = await api.client.get("/api/v1/stats", params={**query, "source": "all"})
        assert every.json()["total"]["alerts"] > body["total"]["alerts"]
        for params, field in [
            ({**query, "tz": "Mars/Olympus"}, "tz"),
            ({**query, "to": "2022-10-10"}, "to"),
            ({**query, "from": "yesterday"}, "from"),
            ({**query, "region": "99999"}, "region"),
            ({**query, "source": "rumour"}, "source"),
            ({**query, "tz": "Asia/Kolkata"}, "from"),
        ]:
            bad = await api.client.get("/api/v1/stats", params=params)
            assert bad.status_code == 422, (params, bad.text)
            assert bad.headers["content-type"] == "application/problem+json"
            assert bad.json()["field"] == field
