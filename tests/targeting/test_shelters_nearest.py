"""Nearest shelters equal a full scan by great-circle distance; imports by another process are picked up."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pytest

from sirena.geo import haversine_m
from sirena.shelters import ShelterDirectory
from sirena.store import SQLiteStore


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SQLiteStore]:
    db = SQLiteStore(f"sqlite:///{tmp_path / 'sirena.db'}")
    await db.open()
    try:
        yield db
    finally:
        await db.close()


def csv_of(lat: np.ndarray, lon: np.ndarray, prefix: str = "s") -> bytes:
    out = io.StringIO()
    out.write("id,name,lat,lon\n")
    for i, (y, x) in enumerate(zip(lat.tolist(), lon.tolist(), strict=True)):
        out.write(f"{prefix}{i},Shelter {i},{y!r},{x!r}\n")
    return out.getvalue().encode()


async def test_nearest_equals_a_full_scan(store: SQLiteStore) -> None:
    rng = np.random.default_rng(7)
    lat = np.concatenate([rng.uniform(44.3, 52.4, 1500), rng.normal(50.45, 0.02, 500)])
    lon = np.concatenate([rng.uniform(22.0, 40.3, 1500), rng.normal(30.52, 0.03, 500)])
    directory = ShelterDirectory(store)
    await directory.import_file(csv_of(lat, lon), source="grid", name="grid.csv")
    for _ in range(60):
        qlat, qlon = float(rng.uniform(44, 53)), float(rng.uniform(21, 41))
        k = int(rng.integers(1, 12))
        found = await directory.nearest(qlat, qlon, k)
        metres = haversine_m(qlat, qlon, lat, lon)
        order = np.lexsort((np.arange(lat.size), metres))[:k]
        assert [s.ref for s, _ in found] == [f"s{i}" for i in order.tolist()]
        np.testing.assert_allclose([d for _, d in found], metres[order], rtol=0, atol=1e-6)


async def test_an_import_elsewhere_is_seen_after_the_recheck_interval(store: SQLiteStore) -> None:
    seconds = [0.0]
    reader = ShelterDirectory(store, recheck_s=1.0, clock=lambda: seconds[0])
    writer = ShelterDirectory(store)
    assert await reader.nearest(50.45, 30.52) == []
    await writer.import_file(b"id,lat,lon\na,50.45,30.52\n", source="x", name="x.csv")
    assert await reader.nearest(50.45, 30.52) == []  # checked less than a second ago
    seconds[0] += 1.5
    assert [s.id for s, _ in await reader.nearest(50.45, 30.52)] == ["x:a"]


async def test_the_box_and_the_antimeridian(store: SQLiteStore) -> None:
    directory = ShelterDirectory(store)
    body = b"id,lat,lon\nwest,10,-179.5\neast,10,179.5\nkyiv,50.45,30.52\n"
    await directory.import_file(body, source="x", name="x.csv")
    snapshot = await directory.snapshot()
    assert [s.ref for s in snapshot.within(179.0, 0.0, -179.0, 20.0, 10)] == ["west", "east"]
    assert [s.ref for s in snapshot.within(30.0, 50.0, 31.0, 51.0, 10)] == ["kyiv"]
    nearest = await directory.nearest(10.0, 180.0, 2)
    assert {s.ref for s, _ in nearest} == {"west", "east"}
    assert all(abs(d - 54_757) < 100 for _, d in nearest)  # half a degree of longitude at 10° N each way
