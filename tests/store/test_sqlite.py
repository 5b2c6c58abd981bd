from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest

from sirena import domain
from sirena.domain import AlertChanges, AlertDraft, AlertState, Event, EventType, Level, Status, Target
from sirena.errors import AlertNotFound, IdempotencyConflict, InvalidTransition
from sirena.store import AlertQuery, IdempotencyKey, SQLiteStore
from sirena.store.migrations import SQLITE as MIGRATIONS

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SQLiteStore]:
    s = SQLiteStore(f"sqlite:///{tmp_path / 'db.sqlite'}")
    await s.open()
    yield s
    await s.close()


def issue_step(regions: tuple[str, ...] = ("31",), alert_id: str = "A1", **kw: object):  # type: ignore[no-untyped-def]
    draft = AlertDraft(target=Target(regions=regions), regions=regions, **kw)  # type: ignore[arg-type]
    return lambda current: domain.issue(draft, alert_id=alert_id, now=T0)


def found(current: domain.Alert | None) -> domain.Alert:
    if current is None:
        raise AlertNotFound("error.alert_not_found", alert_id="?")
    return current


async def test_write_then_read_back_every_field(store: SQLiteStore) -> None:
    result = await store.write("A1", issue_step(instruction={"uk": "Укриття!"}, time_to_shelter_s=90))
    assert result.event.seq == 1
    assert result.event.type is EventType.ISSUED
    again = await store.get_alert("A1")
    assert again == result.event.alert
    assert (await store.events_after(0))[0] == result.event


async def test_settings_are_wal_and_synchronous_full(store: SQLiteStore) -> None:
    conn = sqlite3.connect(store.path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    names = [r[0] for r in conn.execute("SELECT name FROM migrations ORDER BY rowid")]  # the order applied
    assert names == [name for name, _ in MIGRATIONS]
    assert names[0] == "0001_alerts_events"
    conn.close()


async def test_sequence_is_strictly_increasing_across_concurrent_writers(store: SQLiteStore) -> None:
    results = await asyncio.gather(*(store.write(f"A{i}", issue_step(alert_id=f"A{i}")) for i in range(50)))
    seqs = sorted(r.event.seq for r in results)
    assert seqs == list(range(1, 51))
    assert await store.last_seq() == 50
    events = await store.events_after(10, limit=5)
    assert [e.seq for e in events] == [11, 12, 13, 14, 15]


async def test_a_failing_step_rolls_back_alone(store: SQLiteStore) -> None:
    await store.write("A1", issue_step())

    def bad(current: domain.Alert | None) -> domain.Transition:
        return domain.end(found(current), now=T0)

    outcomes = await asyncio.gather(
        store.write("A1", bad),
        store.write("A1", bad),
        store.write("B", issue_step(alert_id="B")),
        return_exceptions=True,
    )
    assert isinstance(outcomes[1], InvalidTransition)  # the alert was already ended by the first
    assert not isinstance(outcomes[0], BaseException)
    assert not isinstance(outcomes[2], BaseException)
    assert [e.type for e in await store.events_after(0)] == [EventType.ISSUED, EventType.ENDED, EventType.ISSUED]
    with pytest.raises(AlertNotFound):
        await store.write("missing", lambda c: domain.end(found(c), now=T0))
    assert await store.last_seq() == 3


async def test_listeners_hear_events_in_order_after_commit(store: SQLiteStore) -> None:
    heard: list[int] = []
    committed_when_heard: list[bool] = []

    def listener(events: Sequence[Event]) -> None:
        for event in events:
            heard.append(event.seq)
            conn = sqlite3.connect(store.path)
            committed_when_heard.append(
                conn.execute("SELECT 1 FROM events WHERE seq=?", (event.seq,)).fetchone() is not None
            )
            conn.close()

    store.add_commit_listener(listener)
    await asyncio.gather(*(store.write(f"A{i}", issue_step(alert_id=f"A{i}")) for i in range(20)))
    await asyncio.sleep(0.05)
    assert heard == list(range(1, 21))
    assert all(committed_when_heard)


async def test_idempotency_key_replays_and_detects_reuse(store: SQLiteStore) -> None:
    key = IdempotencyKey("token:1", "k1", "hash-a")
    first = await store.write("A1", issue_step(), idempotency=key)
    again = await store.write("A2", issue_step(alert_id="A2"), idempotency=key)
    assert again.replayed
    assert again.event == first.event
    assert await store.get_alert("A2") is None
    with pytest.raises(IdempotencyConflict):
        await store.write("A3", issue_step(alert_id="A3"), idempotency=IdempotencyKey("token:1", "k1", "hash-b"))
    other_scope = await store.write("A4", issue_step(alert_id="A4"), idempotency=IdempotencyKey("token:2", "k1", "x"))
    assert not other_scope.replayed


async def test_find_by_state_status_region_and_time(store: SQLiteStore) -> None:
    await store.write("A", issue_step(("31",), alert_id="A"))
    await store.write("B", issue_step(("14",), alert_id="B", status=Status.EXERCISE))
    await store.write("C", issue_step(("4",), alert_id="C"))
    await store.write("C", lambda c: domain.end(found(c), now=T0))
    await store.write("A", lambda c: domain.update(found(c), AlertChanges(level=Level.YELLOW), now=T0))
    active = await store.find_alerts(AlertQuery(states=frozenset({AlertState.ACTIVE})))
    assert {a.id for a in active} == {"A", "B"}
    actual = await store.find_alerts(AlertQuery(statuses=frozenset({Status.ACTUAL})))
    assert {a.id for a in actual} == {"A", "C"}
    in_kyiv = await store.find_alerts(AlertQuery(regions=frozenset({"31", "UA"})))
    assert [a.id for a in in_kyiv] == ["A"]
    assert (await store.get_alert("A")).level is Level.YELLOW  # type: ignore[union-attr]
    snap = await store.snapshot()
    assert snap.seq == 5
    assert {a.id for a in snap.alerts} == {"A", "B"}


async def test_tokens_are_stored_by_hash_and_revocable(store: SQLiteStore) -> None:
    record = await store.create_token("ops", "h1")
    assert (await store.find_token("h1")) == record
    assert await store.find_token("h2") is None
    assert await store.revoke_token(record.id)
    assert not await store.revoke_token(record.id)
    assert (await store.find_token("h1")).revoked_at is not None  # type: ignore[union-attr]


async def test_data_survives_reopening(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    first = SQLiteStore(url)
    await first.open()
    await first.write("A1", issue_step())
    await first.set_meta("k", "v")
    await first.close()
    second = SQLiteStore(url)
    await second.open()
    assert (await second.get_alert("A1")) is not None
    assert await second.get_meta("k") == "v"
    assert await second.last_seq() == 1
    await second.close()
