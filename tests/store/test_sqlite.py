"""What only the SQLite backend promises; the behaviour both backends share is in ``tests/store/contract``."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from sirena.store import SQLiteStore
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
