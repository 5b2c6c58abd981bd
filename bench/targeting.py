"""Targeting benchmark: alert → affected regions, matching alerts to subscribed places, nearest shelters.

Run with ``python -m bench.targeting`` (``--places N``, ``--shelters N`` for other sizes). Every figure has a
naive baseline measured in the same process on the same data; ``ratio`` is ``figure / baseline``:

* affected regions of an issued alert (1 to 3 regions at any level): :class:`RegionClosure` against expanding
  each region with ``registry.ancestors`` and ``registry.descendants`` on every call, as a filter built per
  alert would. Target ≤ 0.1 ms.
* a drawn polygon → the regions it touches (done once, when the alert is issued): the registry's R-tree and
  prepared outlines against ``shapely.intersects`` with every outline.
* matching: :class:`PlaceIndex` over ``--places`` subscribed points (and a tenth as many region places) for a
  city polygon, a circle and an oblast alert, against testing every place with the exact predicate.
* nearest shelters: ``ShelterDirectory.nearest`` (from memory, with its revision check and result objects)
  among ``--shelters`` imported shelters, against ``haversine_m`` over all of them plus ``argpartition``.
  Target ≤ 1 ms per query. Also the import of that many shelters from CSV into SQLite, against reading the
  same CSV with ``csv.reader``.

Points and shelters are the clustered synthetic sets of ``bench.geo_index`` (fixed seeds).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import shapely

from bench import row
from bench.geo_index import city_polygon, points
from sirena.domain.model import Alert, AlertState, Circle, Kind, Level, Status, Target
from sirena.geo import PointIndex, circle, haversine_m, normalize
from sirena.regions import RegionRegistry, load_builtin
from sirena.shelters import ShelterDirectory
from sirena.store import SQLiteStore
from sirena.targeting import AlertArea, PlaceColumns, PlaceIndex, RegionClosure


def _per_call_ms(action: Callable[[int], Any], calls: int, rounds: int = 5) -> float:
    """Median over ``rounds`` of the mean time per call of ``action(i)`` for i in range(calls), in ms."""
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        for i in range(calls):
            action(i)
        times.append((time.perf_counter() - start) / calls * 1000)
    return statistics.median(times)


def _alert(target: Target, regions: tuple[str, ...], partial: tuple[str, ...] = ()) -> Alert:
    from datetime import UTC, datetime

    now = datetime(2026, 1, 1, tzinfo=UTC)
    return Alert(
        "bench",
        1,
        AlertState.ACTIVE,
        target,
        regions,
        partial,
        Kind.AIR_RAID,
        Level.RED,
        Status.ACTUAL,
        (),
        "b",
        now,
        now,
    )


def run(n_places: int = 2_000_000, n_shelters: int = 100_000) -> list[dict[str, Any]]:
    registry = load_builtin("ua")
    rows = _affected_rows(registry)
    rows += _match_rows(registry, n_places)
    rows += asyncio.run(_shelter_rows(n_shelters))
    return rows


def _affected_rows(registry: RegionRegistry) -> list[dict[str, Any]]:
    closure = RegionClosure(registry)
    ids = [r.id for r in registry]
    rng = np.random.default_rng(5)
    alerts = [
        _alert(Target(regions=tuple(chosen)), tuple(chosen))
        for chosen in (rng.choice(ids, size=int(rng.integers(1, 4)), replace=False).tolist() for _ in range(1000))
    ]
    for a in alerts[:50]:
        naive = {r for x in a.regions for r in (x, *registry.ancestors(x), *registry.descendants(x))}
        assert closure.affected(a) == naive, "closure and naive expansion differ"

    def expand(i: int) -> frozenset[str]:
        found: set[str] = set()
        for x in alerts[i].touched_regions:
            found.add(x)
            found.update(registry.ancestors(x))
            found.update(registry.descendants(x))
        return frozenset(found)

    fast = _per_call_ms(lambda i: closure.affected(alerts[i]), len(alerts))
    slow = _per_call_ms(expand, len(alerts), rounds=3)
    rows = [
        row(
            "targeting.affected_regions",
            fast,
            "ms",
            slow,
            "ancestors + descendants expanded per alert (1-3 regions, any level)",
            "<= 0.1 ms",
        )
    ]

    # Geometry → regions, as done once when a polygon alert is issued.
    lon, lat = points(200_000)
    shapes = [normalize(city_polygon(lon, lat, share)) for share in (0.001, 0.01, 0.05)]
    outlines = [registry.geometry(o.id) for o in registry.children(registry.root_id)]
    raw = [shapely.from_wkb(shapely.to_wkb(g)) for g in outlines if g is not None]

    def naive_touch(i: int) -> list[int]:
        g = shapes[i % len(shapes)]
        return [k for k, o in enumerate(raw) if shapely.intersects(g, o)]

    fast = _per_call_ms(lambda i: registry.regions_for_geometry(shapes[i % len(shapes)]), 60)
    slow = _per_call_ms(naive_touch, 60, rounds=3)
    rows.append(
        row(
            "targeting.polygon_to_regions",
            fast,
            "ms",
            slow,
            "shapely.intersects with each of the 27 outlines (at issue time, once per alert)",
            "",
        )
    )
    return rows


def _columns(registry: RegionRegistry, n_places: int) -> tuple[PlaceColumns, dict[str, int]]:
    """Points resolved to the oblast holding them (by R-tree), and a tenth as many region places."""
    code = {r.id: i for i, r in enumerate(registry)}
    lon, lat = points(n_places)
    oblasts = [o.id for o in registry.children(registry.root_id)]
    tree = shapely.STRtree([registry.geometry(o) for o in oblasts])
    where = np.full(n_places, -1, dtype=np.int64)
    hit_point, hit_shape = tree.query(shapely.points(lon, lat), predicate="intersects")
    where[hit_point] = hit_shape
    inside = where >= 0
    keys = np.arange(n_places, dtype=np.int64)
    rng = np.random.default_rng(3)
    n_regions = n_places // 10
    region_choice = rng.integers(0, len(code), n_regions).astype(np.int32)
    oblast_code = np.array([code[o] for o in oblasts], dtype=np.int32)
    columns = PlaceColumns(
        keys=np.concatenate([keys, np.arange(n_places, n_places + n_regions)]),
        subscribers=rng.integers(0, n_places // 2, n_places + n_regions).astype(np.int32),
        points=np.concatenate([np.ones(n_places, np.bool_), np.zeros(n_regions, np.bool_)]),
        lon=np.concatenate([lon, np.full(n_regions, np.nan)]),
        lat=np.concatenate([lat, np.full(n_regions, np.nan)]),
        pair_keys=np.concatenate([keys[inside], np.arange(n_places, n_places + n_regions)]),
        pair_regions=np.concatenate([oblast_code[where[inside]], region_choice]),
    )
    return columns, code


def _match_rows(registry: RegionRegistry, n_places: int) -> list[dict[str, Any]]:
    columns, code = _columns(registry, n_places)
    closure = RegionClosure(registry)
    start = time.perf_counter()
    index = PlaceIndex(columns, len(code))
    build = time.perf_counter() - start
    start = time.perf_counter()
    PointIndex(columns.lon[columns.points], columns.lat[columns.points])
    points_only = time.perf_counter() - start
    label = f"{n_places / 1e6:g}M"
    rows = [
        row(
            f"targeting.match.build_{label}",
            build,
            "s",
            points_only,
            "sirena.geo.PointIndex over the points alone (no region tables)",
            "",
        )
    ]

    pair_sub = columns.subscribers[np.searchsorted(columns.keys, columns.pair_keys)]
    pair_point = columns.points[np.searchsorted(columns.keys, columns.pair_keys)]

    def brute(area: AlertArea, affected: np.ndarray) -> np.ndarray:
        in_region = np.isin(columns.pair_regions, affected)
        if area.is_geometry:
            by_region = pair_sub[in_region & ~pair_point]
            by_point = columns.subscribers[columns.points & area.points_inside(columns.lon, columns.lat)]
            return np.unique(np.concatenate([by_region, by_point]))
        return np.unique(pair_sub[in_region])

    lon, lat = columns.lon[columns.points], columns.lat[columns.points]
    city = city_polygon(lon, lat, 0.01)
    cases = {
        "city_polygon": _alert(Target(area=shapely.geometry.mapping(city)), *registry.regions_for_geometry(city)),
        "circle_20km": _alert(
            Target(circle=Circle(46.48, 30.73, 20.0)), *registry.regions_for_geometry(circle(46.48, 30.73, 20.0))
        ),
        "oblast": _alert(Target(regions=("22",)), ("22",)),
    }
    for name, a in cases.items():
        area = AlertArea.of(a, closure)
        affected = np.array(sorted(code[r] for r in area.affected), dtype=np.int32)
        found = index.match(area, affected)
        expected = brute(area, affected)
        assert np.array_equal(found.subscribers, expected), f"{name}: index and brute force differ"
        fast = _per_call_ms(lambda _, a=a, c=affected: index.match(AlertArea.of(a, closure), c), 5, rounds=3)
        slow = _per_call_ms(lambda _, a=a, c=affected: brute(AlertArea.of(a, closure), c), 1, rounds=3)
        rows.append(
            row(
                f"targeting.match.{name}_{label}",
                fast,
                "ms",
                slow,
                f"every place tested; {found.subscribers.size:,} subscribers, {found.keys.size:,} places",
                "",
            )
        )
    return rows


async def _shelter_rows(n_shelters: int) -> list[dict[str, Any]]:
    s_lon, s_lat = points(n_shelters, seed=7)
    out = io.StringIO()
    out.write("id,name,lat,lon,capacity\n")
    for i in range(n_shelters):
        out.write(f"{i},Shelter {i},{s_lat[i]:.7f},{s_lon[i]:.7f},{50 + i % 400}\n")
    data = out.getvalue().encode()
    with tempfile.TemporaryDirectory() as folder:
        store = SQLiteStore(f"sqlite:///{Path(folder) / 'bench.db'}")
        await store.open()
        try:
            directory = ShelterDirectory(store, recheck_s=3600.0)
            start = time.perf_counter()
            await directory.import_file(data, source="bench", name="bench.csv")
            imported = time.perf_counter() - start
            start = time.perf_counter()
            for _ in csv.reader(io.StringIO(data.decode())):
                pass
            reading = time.perf_counter() - start
            rows = [
                row(
                    f"targeting.shelters.import_{n_shelters // 1000}k_csv",
                    imported,
                    "s",
                    reading,
                    "csv.reader over the same file",
                    "",
                )
            ]
            await directory.snapshot()  # loaded once, as after the first request
            stored_lat = np.round(s_lat, 7)
            stored_lon = np.round(s_lon, 7)
            q_lon, q_lat = points(300, seed=13)
            ks = np.random.default_rng(11).integers(1, 11, q_lon.size)
            for q in range(10):
                got = await directory.nearest(float(q_lat[q]), float(q_lon[q]), int(ks[q]))
                d = haversine_m(q_lat[q], q_lon[q], stored_lat, stored_lon)
                want = np.lexsort((np.arange(d.size), d))[: ks[q]]
                assert [s.ref for s, _ in got] == [str(i) for i in want.tolist()], "nearest and brute force differ"
            times = []
            for _ in range(5):
                start = time.perf_counter()
                for q in range(q_lon.size):
                    await directory.nearest(float(q_lat[q]), float(q_lon[q]), int(ks[q]))
                times.append((time.perf_counter() - start) / q_lon.size * 1000)
            fast = statistics.median(times)
            start = time.perf_counter()
            for q in range(q_lon.size):
                d = haversine_m(q_lat[q], q_lon[q], stored_lat, stored_lon)
                np.argpartition(d, int(ks[q]))[: ks[q]]
            slow = (time.perf_counter() - start) / q_lon.size * 1000
        finally:
            await store.close()
    rows.append(
        row(
            f"targeting.nearest_shelter_among_{n_shelters // 1000}k",
            fast,
            "ms",
            slow,
            "haversine_m over all shelters + argpartition (k = 1-10)",
            "<= 1 ms",
        )
    )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--places", type=int, default=2_000_000)
    parser.add_argument("--shelters", type=int, default=100_000)
    args = parser.parse_args()
    for result in run(args.places, args.shelters):
        print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
