"""What every store backend promises (the Store protocol), checked on SQLite and PostgreSQL alike."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import pytest

from sirena import domain
from sirena.domain import AlertChanges, AlertDraft, AlertState, Event, EventType, Level, Status, Target
from sirena.errors import AlertNotFound, IdempotencyConflict, InvalidTransition
from sirena.store import AlertQuery, IdempotencyKey, Store, open_store
from sirena.store.migrations import SQLITE
from sirena.store.sql import Connection, dialect

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def issue_step(regions: tuple[str, ...] = ("31",), alert_id: str = "A1", **kw: Any) -> Callable[..., Any]:
    draft = AlertDraft(target=Target(regions=regions), regions=regions, **kw)
    return lambda current: domain.issue(draft, alert_id=alert_id, now=T0)


def found(current: domain.Alert | None) -> domain.Alert:
    if current is None:
        raise AlertNotFound("error.alert_not_found", alert_id="?")
    return current


def sql(store: Store) -> Any:
    return store  # both backends run area SQL through transaction() / read()


async def test_every_migration_is_applied_and_recorded(store: Store) -> None:
    def names(conn: Connection) -> tuple[str, list[str]]:
        return dialect(conn), [r[0] for r in conn.execute("SELECT name FROM migrations").fetchall()]

    kind, applied = await sql(store).read(names)
    expected = [name for name, _ in SQLITE]
    if kind == "postgresql":
        from sirena.store.postgis import geometry_of
        from sirena.store.postgres_migrations import POSTGIS_ONLY, migrations

        expected = [name for name, _ in migrations()]
        if geometry_of(store).engine == "postgis":  # recorded only once they have run
            expected += [name for name, _ in POSTGIS_ONLY]
    assert sorted(applied) == sorted(expected)
    assert set(applied) >= {name for name, _ in SQLITE}


async def test_write_then_read_back_every_field(store: Store) -> None:
    result = await store.write("A1", issue_step(instruction={"uk": "Укриття!", "en": "Shelter"}, time_to_shelter_s=90))
    assert result.event.seq == 1
    assert result.event.type is EventType.ISSUED
    assert await store.get_alert("A1") == result.event.alert
    assert (await store.events_after(0))[0] == result.event
    assert await store.get_alert("nope") is None


async def test_sequence_numbers_have_no_gaps_under_concurrent_writes(store: Store) -> None:
    results = await asyncio.gather(*(store.write(f"A{i}", issue_step(alert_id=f"A{i}")) for i in range(50)))
    assert sorted(r.event.seq for r in results) == list(range(1, 51))
    assert await store.last_seq() == 50
    assert [e.seq for e in await store.events_after(10, limit=5)] == [11, 12, 13, 14, 15]


async def test_a_failing_step_rolls_back_alone_and_leaves_no_gap(store: Store) -> None:
    await store.write("A1", issue_step())

    def bad(current: domain.Alert | None) -> domain.Transition:
        return domain.end(found(current), now=T0)

    outcomes = await asyncio.gather(
        store.write("A1", bad),
        store.write("A1", bad),
        store.write("B", issue_step(alert_id="B")),
        return_exceptions=True,
    )
    assert isinstance(outcomes[1], InvalidTransition)
    assert not isinstance(outcomes[0], BaseException)
    assert not isinstance(outcomes[2], BaseException)
    assert [e.type for e in await store.events_after(0)] == [EventType.ISSUED, EventType.ENDED, EventType.ISSUED]
    with pytest.raises(AlertNotFound):
        await store.write("missing", lambda c: domain.end(found(c), now=T0))
    await store.write("C", issue_step(alert_id="C"))
    assert [e.seq for e in await store.events_after(0)] == [1, 2, 3, 4]


async def test_a_failing_hook_undoes_the_whole_write(store: Store) -> None:
    def hook(conn: Connection, result: Any) -> None:
        conn.execute("INSERT INTO meta (key, value) VALUES (?, ?)", ("hooked", str(result.event.seq)))
        raise RuntimeError("no")

    with pytest.raises(RuntimeError):
        await store.write("A1", issue_step(), then=hook)
    assert await store.get_alert("A1") is None
    assert await store.get_meta("hooked") is None
    assert await store.last_seq() == 0


async def test_a_write_for_a_new_id_never_replaces_an_alert_that_has_it(store: Store) -> None:
    first = await store.write("A1", issue_step(), new=True)  # new: the current alert is not read
    with pytest.raises(Exception, match=r"(?i)unique"):
        await store.write("A1", issue_step(level=Level.YELLOW), new=True)
    assert await store.get_alert("A1") == first.event.alert
    assert await store.last_seq() == first.event.seq


async def test_listeners_hear_events_in_order_once_another_connection_can_read_them(store_url: str) -> None:
    writer, reader = open_store(store_url), open_store(store_url)
    await writer.open()
    await reader.open()
    heard: list[Event] = []
    writer.add_commit_listener(heard.extend)
    try:
        await asyncio.gather(*(writer.write(f"A{i}", issue_step(alert_id=f"A{i}")) for i in range(20)))
        await asyncio.sleep(0.05)
        assert [e.seq for e in heard] == list(range(1, 21))
        assert [e.seq for e in await reader.events_after(0)] == list(range(1, 21))
    finally:
        await writer.close()
        await reader.close()


async def test_two_nodes_writing_at_once_share_one_gapless_sequence_seen_in_order(store_url: str) -> None:
    """Two stores on one database (two nodes): numbers are unique and gapless, and a reader polling the log never
    sees a number before every smaller one is visible."""
    nodes = [open_store(store_url) for _ in range(3)]
    for node in nodes:
        await node.open()
    seen: list[int] = []
    done = asyncio.Event()

    async def follow() -> None:
        while not done.is_set() or (await nodes[2].last_seq()) > (seen[-1] if seen else 0):
            seen.extend(e.seq for e in await nodes[2].events_after(seen[-1] if seen else 0))
            await asyncio.sleep(0)

    try:
        follower = asyncio.create_task(follow())
        results = await asyncio.gather(*(nodes[i % 2].write(f"N{i}", issue_step(alert_id=f"N{i}")) for i in range(120)))
        done.set()
        await follower
        assert sorted(r.event.seq for r in results) == list(range(1, 121))
        assert seen == list(range(1, 121))
    finally:
        for node in nodes:
            await node.close()


async def test_idempotency_key_replays_and_detects_reuse(store: Store) -> None:
    key = IdempotencyKey("token:1", "k1", "hash-a")
    first = await store.write("A1", issue_step(), idempotency=key)
    again = await store.write("A2", issue_step(alert_id="A2"), idempotency=key)
    assert again.replayed
    assert again.event == first.event
    assert await store.get_alert("A2") is None
    with pytest.raises(IdempotencyConflict):
        await store.write("A3", issue_step(alert_id="A3"), idempotency=IdempotencyKey("token:1", "k1", "hash-b"))
    other = await store.write("A4", issue_step(alert_id="A4"), idempotency=IdempotencyKey("token:2", "k1", "x"))
    assert not other.replayed


async def test_find_by_state_status_region_and_time(store: Store) -> None:
    await store.write("A", issue_step(("31",), alert_id="A"))
    await store.write("B", issue_step(("14",), alert_id="B", status=Status.EXERCISE))
    await store.write("C", issue_step(("4",), alert_id="C"))
    await store.write("C", lambda c: domain.end(found(c), now=T0))
    await store.write("A", lambda c: domain.update(found(c), AlertChanges(level=Level.YELLOW), now=T0))
    active = await store.find_alerts(AlertQuery(states=frozenset({AlertState.ACTIVE})))
    assert {a.id for a in active} == {"A", "B"}
    actual = await store.find_alerts(AlertQuery(statuses=frozenset({Status.ACTUAL})))
    assert {a.id for a in actual} == {"A", "C"}
    assert [a.id for a in await store.find_alerts(AlertQuery(regions=frozenset({"31", "UA"})))] == ["A"]
    assert [a.id for a in await store.find_alerts(AlertQuery(since=T0, limit=1))] == ["A"]
    assert (await store.get_alert("A")).level is Level.YELLOW  # type: ignore[union-attr]
    snap = await store.snapshot()
    assert snap.seq == 5
    assert {a.id for a in snap.alerts} == {"A", "B"}


async def test_text_sorts_by_code_point_on_every_backend(store: Store) -> None:
    ids = ["a", "B", "_x", "-x", "Z9", "ж"]
    for alert_id in ids:
        await store.write(alert_id, issue_step(alert_id=alert_id))
    listed = await store.find_alerts(AlertQuery())
    assert [a.id for a in listed] == sorted(ids)  # same start time: ordered by id


async def test_tokens_are_stored_by_hash_and_revocable(store: Store) -> None:
    record = await store.create_token("ops", "h1")
    assert await store.find_token("h1") == record
    assert await store.find_token("h2") is None
    assert [t.id for t in await store.list_tokens()] == [record.id]
    assert await store.revoke_token(record.id)
    assert not await store.revoke_token(record.id)
    assert (await store.find_token("h1")).revoked_at is not None  # type: ignore[union-attr]


async def test_meta_and_everything_else_survive_reopening(store_url: str) -> None:
    first = open_store(store_url)
    await first.open()
    await first.write("A1", issue_step())
    await first.set_meta("k", "v")
    await first.set_meta("k", "w")
    await first.close()
    second = open_store(store_url)
    await second.open()
    try:
        assert await second.get_alert("A1") is not None
        assert await second.get_meta("k") == "w"
        assert await second.last_seq() == 1
        await second.ping()
    finally:
        await second.close()


async def test_readers_get_a_consistent_snapshot_with_begin(store: Store) -> None:
    await store.write("A1", issue_step())

    def twice(conn: Connection) -> tuple[int, int]:
        conn.execute("BEGIN")
        try:
            first = conn.execute("SELECT COUNT(*) FROM events").fetchone()[0]
            second = conn.execute("SELECT COUNT(*) FROM events").fetchone()[0]
        finally:
            conn.execute("COMMIT")
        return int(first), int(second)

    assert await sql(store).read(twice) == (1, 1)


async def test_sums_come_back_as_python_numbers(store: Store) -> None:
    def insert(conn: Connection) -> None:
        conn.executemany("INSERT INTO meta (key, value) VALUES (?, ?)", [("n1", "1"), ("n2", "2")])
        conn.execute("INSERT INTO delivery_cursors (name, seq) VALUES (?, ?)", ("x", 7))

    def totals(conn: Connection) -> Sequence[Any]:
        return tuple(conn.execute("SELECT SUM(seq), COUNT(*), SUM(seq) * 0.5 FROM delivery_cursors").fetchone())

    await sql(store).transaction(insert)
    assert await sql(store).read(totals) == (7, 1, 3.5)
    assert [type(v) for v in await sql(store).read(totals)] == [int, int, float]


async def test_each_commit_of_events_remembers_the_subscriptions_revision(store: Store, store_url: str) -> None:
    def subscribe(conn: Connection, sub_id: str) -> None:
        conn.execute(
            "INSERT INTO webhook_subscriptions (id, url, secret, filter, kind, format, headers, owner, after_seq, "
            "created_at) VALUES (?, 'https://example.org/h', 's', '{}', 'native', 'native', '{}', NULL, 0, "
            "'2026-01-01T00:00:00Z')",
            (sub_id,),
        )

    first = (await store.write("A1", issue_step(alert_id="A1"), new=True)).event.seq
    assert store.revision_at(first) == 0
    await store.transaction(lambda c: subscribe(c, "S1"))
    second = (await store.write("A2", issue_step(alert_id="A2"), new=True)).event.seq
    assert store.revision_at(second) == 1
    assert store.revision_at(first) == 0  # as its own commit left it
    other = open_store(store_url)  # another process or node on the same database
    await other.open()
    try:
        await other.transaction(lambda c: subscribe(c, "S2"))
        theirs = (await other.write("A3", issue_step(alert_id="A3"), new=True)).event.seq
        assert other.revision_at(theirs) == 2
    finally:
        await other.close()
    assert store.revision_at(theirs) is None  # not written by this store
    third = (await store.write("A4", issue_step(alert_id="A4"), new=True)).event.seq
    assert store.revision_at(third) == 2  # the other's change is in it
    assert store.revision_at(third + 1) is None
