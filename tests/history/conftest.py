"""Fixtures of the history tests: the shipped record imported once per session, and the raw CSV rows."""

from __future__ import annotations

import asyncio
import csv
import os
from pathlib import Path

import pytest
from history_support import Imported

from sirena.history.importer import builtin_files, import_history
from sirena.history.report import ImportReport
from sirena.regions import RegionRegistry, load_builtin
from sirena.store import SQLiteStore

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data"


def shared_path() -> Path:
    """``../shared/data``: fails on CI when it is missing, skips elsewhere."""
    if not (SHARED / "ua").is_dir():
        if os.environ.get("CI") == "true":
            pytest.fail(f"shared data missing at {SHARED}")
        pytest.skip(f"shared data missing at {SHARED}")
    return SHARED


async def _import(path: Path, registry: RegionRegistry) -> ImportReport:
    store = SQLiteStore(f"sqlite:///{path}")
    await store.open()
    try:
        return await import_history(store, registry, builtin_files())
    finally:
        await store.close()


@pytest.fixture(scope="session")
def ua() -> RegionRegistry:
    return load_builtin("ua")


@pytest.fixture(scope="session")
def imported(tmp_path_factory: pytest.TempPathFactory, ua: RegionRegistry) -> Imported:
    path = tmp_path_factory.mktemp("history") / "history.db"
    report = asyncio.run(_import(path, ua))
    return Imported(path, report)


@pytest.fixture(scope="session")
def raw() -> dict[str, list[dict[str, str]]]:
    """The four CSV files as published (``../shared/data/ua``), read independently of the packaged copies."""
    folder = shared_path() / "ua"
    out = {}
    for name in ("official_data_en", "official_data_uk", "volunteer_data_en", "volunteer_data_uk"):
        with (folder / f"{name}.csv").open(encoding="utf-8", newline="") as handle:
            out[name] = list(csv.DictReader(handle))
    return out


@pytest.fixture
def history_db(imported: Imported, tmp_path: Path) -> Path:
    return imported.copy(tmp_path)
