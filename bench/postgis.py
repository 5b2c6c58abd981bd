"""PostGIS benchmark: the geometry queries of a PostgreSQL store answered by PostGIS against the in-memory path.

Run with ``python -m bench postgis`` (needs PostgreSQL with the postgis extension on 127.0.0.1:5432). One scratch
database holds 100,000 shelters and 100,000 point places; it is opened twice, with ``SIRENA_POSTGIS=auto``
(PostGIS answers) and with ``off`` (the numpy indexes answer, as on SQLite), and both answer the same questions
through the same interfaces (:class:`~sirena.shelters.ShelterDirectory`, :class:`~sirena.targeting.PlaceRegistry`):

* ``nearest.postgis``: nearest-5-shelters queries per second, one at a time. Baseline: the in-memory index.
* ``nearest.first``: the first nearest-shelter answer after start-up (the in-memory path loads every shelter).
* ``match.postgis``: milliseconds per alert to find the places a polygon or circle alert reaches (100 alerts
  across Ukraine). Baseline: the in-memory index.
* ``match.first``: the first match after start-up (the in-memory path loads every place and builds its index).
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Any

import numpy as np
import shapely

from bench import row
from sirena.cluster.testing import scratch_database
from sirena.domain.model import Alert, AlertState, Circle, Kind, Level, Status, Target
from sirena.shelters import Shelter, ShelterDirectory
from sirena.store import Store, open_store
from sirena.store import targeting as sql
from sirena.targeting import PlaceRegistry
from sirena.targeting.place import Place, PlaceKind

N = 100_000
QUERIES = 1000
ALERTS = 100
T0 = datetime(2026, 3, 1, tzinfo=UTC)


def _alert(i: int, target: Target) -> Alert:
    return Alert(
        id=f"B{i}", version=1, state=AlertState.ACTIVE, target=target, regions=(), partial_regions=(),
        kind=Kind.AIR_RAID, level=Level.RED, status=Status.ACTUAL, threats=(), issuer="bench",
        started_at=T0, updated_at=T0,
    )  # fmt: skip


def _alerts(rng: np.random.Generator) -> list[Alert]:
    found = []
    for i in range(ALERTS):
        cx, cy = float(rng.uniform(23.0, 39.0)), float(rng.uniform(45.0, 52.0))
        if i % 2:
            found.append(_alert(i, Target(circle=Circle(cy, cx, float(rng.uniform(5.0, 60.0))))))
        else:
            angles = np.sort(rng.uniform(0.0, 2.0 * np.pi, 16))
            radii = rng.uniform(0.1, 0.6, angles.size)
            ring = np.column_stack([cx + radii * np.cos(angles), cy + radii * np.sin(angles)])
            area = shapely.geometry.mapping(shapely.Polygon(ring))
            found.append(_alert(i, Target(area=area)))
    return found


async def _fill(store: Store, rng: np.random.Generator) -> None:
    lat, lon = rng.uniform(44.4, 52.3, N), rng.uniform(22.2, 40.2, N)
    shelters = [
        Shelter(f"b:{i}", "b", str(i), float(a), float(o), None, None, None, None, None, None, i + 2)
        for i, (a, o) in enumerate(zip(lat, lon, strict=True))
    ]
    places = [
        Place(f"P{i:07d}", f"subscriber-{i:07d}", PlaceKind.POINT, (), T0, lat=float(a), lon=float(o))
        for i, (a, o) in enumerate(zip(rng.uniform(44.4, 52.3, N), rng.uniform(22.2, 40.2, N), strict=True))
    ]
    access = sql.sql_access(store)
    await access.transaction(
        lambda conn: sql.replace_shelters(conn, "b", shelters, file="b.csv", fmt="csv", rejected=0, at=T0, actor="b")
    )

    def insert(conn: sql.Connection) -> None:
        for place in places:
            sql.insert_place(conn, place, 10**9)

    await access.transaction(insert)


async def _nearest(directory: ShelterDirectory, points: list[tuple[float, float]]) -> tuple[float, float]:
    started = time.perf_counter()
    await directory.nearest(*points[0], 5)
    first = time.perf_counter() - started
    started = time.perf_counter()
    for lat, lon in points:
        await directory.nearest(lat, lon, 5)
    return first, len(points) / (time.perf_counter() - started)


async def _match(registry: PlaceRegistry, alerts: list[Alert]) -> tuple[float, float, int]:
    started = time.perf_counter()
    await registry.match_codes(alerts[0])
    first = time.perf_counter() - started
    reached = 0
    started = time.perf_counter()
    for a in alerts:
        reached += int((await registry.match_codes(a)).keys.size)
    return first, (time.perf_counter() - started) * 1000 / len(alerts), reached


async def measure() -> list[dict[str, Any]]:
    from sirena.regions import load_builtin

    rng = np.random.default_rng(7)
    regions = load_builtin("ua")
    points = [
        (float(a), float(o))
        for a, o in zip(rng.uniform(44.4, 52.3, QUERIES), rng.uniform(22.2, 40.2, QUERIES), strict=True)
    ]
    alerts = _alerts(rng)
    with scratch_database(prefix="sirena_bench") as url:
        gis = open_store(url, postgis="auto")
        await gis.open()
        await _fill(gis, rng)
        python = open_store(url, postgis="off")
        await python.open()
        try:
            gis_first, gis_rate = await _nearest(ShelterDirectory(gis), points)
            py_first, py_rate = await _nearest(ShelterDirectory(python), points)
            gis_registry, py_registry = PlaceRegistry(gis, regions), PlaceRegistry(python, regions)
            gis_match_first, gis_ms, gis_reached = await _match(gis_registry, alerts)
            py_match_first, py_ms, py_reached = await _match(py_registry, alerts)
            await py_registry.close()
            assert gis_reached == py_reached, (gis_reached, py_reached)
        finally:
            await python.close()
            await gis.close()
    return [
        row("nearest.postgis (100k shelters, k=5)", gis_rate, "queries/s", py_rate, "in-memory NearestIndex"),
        row("nearest.first (after start-up)", gis_first * 1000, "ms", py_first * 1000, "in-memory: load + index"),
        row("match.postgis (100k places)", gis_ms, "ms/alert", py_ms, "in-memory PlaceIndex"),
        row("match.first (after start-up)", gis_match_first * 1000, "ms", py_match_first * 1000, "in-memory: load"),
    ]


def run() -> list[dict[str, Any]]:
    return asyncio.run(measure())


if __name__ == "__main__":
    import json

    for row in run():
        print(json.dumps(row))
