from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The store a test runs on: SQLite, and a scratch PostgreSQL database (dropped afterwards)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'sirena.db'}"
        return
    from sirena.cluster.testing import scratch_database

    with scratch_database(prefix="sirena_adv") as url:
        yield url
