"""What only the SQLite backend promises; the behaviour both backends share is in ``tests/store/contract``."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from sirena.store import SQLiteStore
from sirena.store import delivery as delivery_sql
from sirena.store.migrations import SQLITE as MIGRATIONS


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SQLiteStore]:
    s = SQLiteStore(f"sqlite:///{tmp_path / 'db.sqlite'}")
    await s.open()
    yield s
    await s.close()


async def test_writes_are_wal_and_synchronous_full(store: SQLiteStore) -> None:
    # the writer's own connection: synchronous is a per-connection setting
    sync = await store.transaction(lambda conn: conn.execute("PRAGMA synchronous").fetchone()[0])
    assert sync == 2  # FULL: a commit is on disk, in the WAL, before the write returns
    conn = sqlite3.connect(store.path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"  # recorded in the file itself
    conn.close()


async def test_migrations_are_applied_in_their_order(store: SQLiteStore) -> None:
    conn = sqlite3.connect(store.path)
    names = [r[0] for r in conn.execute("SELECT name FROM migrations ORDER BY rowid")]  # the order applied
    conn.close()
    assert names == [name for name, _ in MIGRATIONS]
    assert names[0] == "0001_alerts_events"


async def test_every_change_to_the_subscriptions_moves_their_revision_after_all_migrations(
    store: SQLiteStore,
) -> None:
    conn = sqlite3.connect(store.path)
    try:
        triggers = {
            r[0]
            for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ?", ("webhook_subscriptions",)
            )
        }
    finally:
        conn.close()
    assert triggers == {
        "webhook_subscriptions_inserted",
        "webhook_subscriptions_updated",
        "webhook_subscriptions_deleted",
    }  # a migration that rebuilds the table must make them again


async def test_an_existing_database_gets_the_revisions_counter(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
    for name, sql in MIGRATIONS[: [n for n, _ in MIGRATIONS].index("1200_delivery_subscription_revisions")]:
        conn.executescript(sql)
        conn.execute("INSERT INTO migrations VALUES (?, '2026-01-01T00:00:00Z')", (name,))
    conn.execute(
        "INSERT INTO webhook_subscriptions (id, url, secret, filter, kind, format, headers, owner, after_seq, "
        "created_at) VALUES ('S1', 'https://example.org/h', 's', '{}', 'native', 'native', '{}', NULL, 0, "
        "'2026-01-01T00:00:00Z')"
    )
    conn.commit()
    conn.close()
    store = SQLiteStore(f"sqlite:///{path}")
    await store.open()
    try:
        rev, subs = await store.read(lambda c: delivery_sql.live_subscriptions(c))
        assert (rev, [s.id for s in subs]) == (0, ["S1"])
        await store.transaction(lambda c: delivery_sql.update_subscription(c, "S1", url="https://example.org/x"))
        await store.transaction(lambda c: delivery_sql.delete_subscription(c, "S1", 1.0))
        assert (await store.read(lambda c: delivery_sql.live_subscriptions(c))) == (2, [])
    finally:
        await store.close()
