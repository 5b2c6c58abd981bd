"""The store contract suite runs every test once on SQLite and once on PostgreSQL (a scratch database per test,
copied from a template migrated once per run, dropped afterwards)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from sirena.cluster.testing import name_of, scratch_database
from sirena.store import Store, open_store


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    from sirena.store.postgres import connect
    from sirena.store.postgres_migrations import migrate

    with scratch_database(prefix="sirena_tmpl") as url:
        conn = connect(url)
        try:
            migrate(conn)
        finally:
            conn.close()
        yield name_of(url)


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'db.sqlite'}"
        return
    with scratch_database(template=request.getfixturevalue("pg_template")) as url:
        yield url


@pytest.fixture
async def store(store_url: str) -> AsyncIterator[Store]:
    opened = open_store(store_url)
    await opened.open()
    yield opened
    await opened.close()
