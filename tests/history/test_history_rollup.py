"""The arithmetic under the history: ids, the merge rule, spreading alerts over buckets, local bucket bounds."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sirena.domain.model import Source
from sirena.history.records import HistoryRecord, history_id, preferred, to_ms
from sirena.history.rollup import DAY_S, HOUR_S, Rollup, spread
from sirena.history.stats import Group, boundaries, plan
from sirena.ids import new_id

MOMENT = st.integers(min_value=1_577_836_800_000, max_value=1_893_456_000_000)  # 2020 … 2030, in ms


@given(MOMENT, st.integers(min_value=1, max_value=10 * 86_400_000), st.sampled_from([HOUR_S, DAY_S]))
def test_an_alert_spreads_over_buckets_exactly(started: int, length: int, width: int) -> None:
    parts = list(spread(started, started + length, width))
    assert sum(ms for _, _, ms in parts) == length
    assert [a for _, a, _ in parts] == [1] + [0] * (len(parts) - 1)
    assert parts[0][0] * 1000 <= started < (parts[0][0] + width) * 1000
    assert all(b2 - b1 == width for (b1, _, _), (b2, _, _) in itertools.pairwise(parts))


@given(MOMENT, MOMENT, st.text(min_size=1, max_size=8))
def test_ids_are_deterministic_and_time_ordered(a: int, b: int, region: str) -> None:
    first, second = history_id("official", region, a), history_id("official", region, b)
    assert first == history_id("official", region, a)
    assert len(first) == 26
    if a < b:
        assert first < second
    moment = datetime.fromtimestamp(a / 1000, UTC)
    assert first[:10] == new_id(moment)[:10]  # the same 48-bit time prefix as every Sirena id
    assert history_id("volunteer", region, a) != first


RECORD = st.builds(
    HistoryRecord,
    source=st.just(Source.VOLUNTEER),
    region_id=st.just("31"),
    started_ms=st.just(1_700_000_000_000),
    ended_ms=st.integers(min_value=1_700_000_000_001, max_value=1_700_100_000_000),
    estimated_end=st.booleans(),
    open_ended=st.booleans(),
)


@given(RECORD, RECORD)
def test_the_merge_rule_does_not_depend_on_order(a: HistoryRecord, b: HistoryRecord) -> None:
    assert preferred(a, b) == preferred(b, a)
    if a.estimated_end != b.estimated_end:
        assert not preferred(a, b).estimated_end


def test_to_ms_is_exact() -> None:
    assert to_ms(datetime(2022, 3, 15, 16, 10, 34, 999_999, tzinfo=UTC)) == 1_647_360_634_999
    assert to_ms(datetime(2022, 3, 15, 18, 10, 34, tzinfo=ZoneInfo("Europe/Kyiv"))) == 1_647_360_634_000


def test_rollup_deltas_cancel_out() -> None:
    rollup = Rollup()
    rollup.add(["31"], "official", "air_raid", 1_700_000_000_000, 1_700_020_000_000)
    rollup.add(["31"], "official", "air_raid", 1_700_000_000_000, 1_700_020_000_000, sign=-1)
    assert rollup.rows(rollup.hours) == [] and rollup.rows(rollup.days) == []


@pytest.mark.parametrize(("day", "hours"), [(date(2022, 10, 30), 25), (date(2023, 3, 26), 23), (date(2023, 6, 1), 24)])
def test_local_days_follow_the_clock_changes(day: date, hours: int) -> None:
    kyiv = ZoneInfo("Europe/Kyiv")
    start = datetime.combine(day, datetime.min.time(), kyiv)
    bounds = boundaries(start, start + timedelta(days=2), Group.DAY, kyiv)
    assert (bounds[1] - bounds[0]) // 3600 == hours
    assert len(boundaries(start, start + timedelta(days=1), Group.HOUR, kyiv)) == hours + 1


def test_months_start_on_the_first_local_midnight() -> None:
    kyiv = ZoneInfo("Europe/Kyiv")
    bounds = boundaries(datetime(2023, 1, 15, tzinfo=kyiv), datetime(2023, 4, 1, tzinfo=kyiv), Group.MONTH, kyiv)
    assert [datetime.fromtimestamp(b, kyiv).isoformat() for b in bounds] == [
        "2023-01-15T00:00:00+02:00",
        "2023-02-01T00:00:00+02:00",
        "2023-03-01T00:00:00+02:00",
        "2023-04-01T00:00:00+03:00",
    ]


def test_the_plan_reads_whole_utc_days_from_the_daily_rollups() -> None:
    kyiv, utc = ZoneInfo("Europe/Kyiv"), ZoneInfo("UTC")
    january = [datetime(2023, 1, 1, tzinfo=kyiv), datetime(2023, 2, 1, tzinfo=kyiv)]
    days, hours = plan(boundaries(*january, Group.MONTH, kyiv))
    assert [(datetime.fromtimestamp(a, UTC), datetime.fromtimestamp(b, UTC)) for a, b in days] == [
        (datetime(2023, 1, 1, tzinfo=UTC), datetime(2023, 1, 31, tzinfo=UTC))
    ]
    assert [(b - a) // 3600 for a, b in hours] == [2, 22]  # 22:00-24:00 before, 00:00-22:00 on the last day
    days, hours = plan(boundaries(*january, Group.DAY, kyiv))
    assert days == [] and len(hours) == 1  # a Kyiv day never holds a whole UTC day: one run of hours
    days, hours = plan(boundaries(datetime(2023, 1, 1, tzinfo=utc), datetime(2023, 3, 1, tzinfo=utc), Group.DAY, utc))
    assert hours == [] and len(days) == 1
