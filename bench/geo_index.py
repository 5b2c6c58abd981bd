"""Geo-targeting benchmark: exact point-in-area queries over 10 million subscribers, nearest shelters.

Run with ``python -m bench.geo_index`` (``--points N`` for a smaller run). Every figure is compared with a
naive baseline measured in the same process on the same data:

* queries: ``shapely.contains_xy`` over every point (the geometry prepared once, as shapely does), then
  ``numpy.flatnonzero``; the circle query: ``haversine_m`` over every point; nearest: ``haversine_m`` over
  every shelter then ``numpy.argpartition``.
* build: one ``numpy.argsort`` of the longitudes (a single sort of the same points).
* memory: the longitude and latitude arrays themselves.

``ratio`` is ``figure / baseline``, as everywhere in ``bench/``: below 1 means faster (or smaller) than the
baseline. Times are
medians of repeated runs, each query on a fresh copy of its geometry so preparing it is part of the cost.
The points are synthetic: 75 % scattered around Ukrainian cities in proportion to population, 25 % spread
over the country's bounding box (lon 22-40.3, lat 44.3-52.4), from a fixed seed.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import shapely

from bench import row
from sirena.geo import NearestIndex, PointIndex, haversine_m

BBOX = (22.0, 44.3, 40.3, 52.4)
OUTLINES = Path(__file__).resolve().parents[2] / "shared" / "data" / "ua" / "oblasts_osm_simplified.geojson"

# (lon, lat, population in thousands): public census-order figures, rounded.
CITIES = [
    (30.52, 50.45, 2950),
    (36.23, 49.99, 1420),
    (30.73, 46.48, 1010),
    (35.05, 48.46, 970),
    (37.80, 48.00, 900),
    (35.14, 47.84, 710),
    (24.03, 49.84, 720),
    (33.39, 47.91, 600),
    (32.00, 46.97, 470),
    (33.52, 44.60, 440),
    (39.31, 48.57, 400),
    (28.47, 49.23, 370),
    (34.10, 44.95, 340),
    (32.62, 46.64, 280),
    (34.55, 49.59, 280),
    (31.29, 51.50, 280),
    (32.06, 49.44, 270),
    (28.66, 50.25, 260),
    (34.80, 50.91, 260),
    (26.99, 49.42, 270),
    (25.94, 48.29, 265),
    (32.26, 48.51, 225),
    (26.25, 50.62, 245),
    (24.71, 48.92, 235),
    (25.59, 49.55, 220),
    (25.33, 50.75, 215),
    (22.29, 48.62, 115),
]


def points(n: int, seed: int = 20240224) -> tuple[np.ndarray, np.ndarray]:
    """``n`` subscriber locations, clustered around cities, reproducible from ``seed``."""
    rng = np.random.default_rng(seed)
    city = np.array(CITIES, dtype=np.float64)
    clustered = int(n * 0.75)
    which = rng.choice(city.shape[0], size=clustered, p=city[:, 2] / city[:, 2].sum())
    spread = 0.004 * np.sqrt(city[which, 2])  # degrees; ~0.2 deg for Kyiv
    lon = np.concatenate(
        [city[which, 0] + rng.normal(0.0, 1.0, clustered) * spread * 1.5, rng.uniform(BBOX[0], BBOX[2], n - clustered)]
    )
    lat = np.concatenate(
        [city[which, 1] + rng.normal(0.0, 1.0, clustered) * spread, rng.uniform(BBOX[1], BBOX[3], n - clustered)]
    )
    np.clip(lon, BBOX[0], BBOX[2], out=lon)
    np.clip(lat, BBOX[1], BBOX[3], out=lat)
    return lon, lat


def city_polygon(lon: np.ndarray, lat: np.ndarray, share: float = 0.01) -> shapely.Polygon:
    """A jagged 256-vertex outline around Kharkiv holding about ``share`` of all points."""
    cx, cy = 36.23, 49.99
    d = np.hypot((lon - cx) * np.cos(np.radians(cy)), lat - cy)
    radius = float(np.partition(d, int(d.size * share))[int(d.size * share)])
    angle = np.linspace(0.0, 2.0 * np.pi, 256, endpoint=False)
    wobble = 1.0 + 0.12 * np.sin(7.0 * angle) + 0.05 * np.sin(23.0 * angle)
    r = radius * wobble
    return shapely.Polygon(np.column_stack([cx + r * np.cos(angle) / np.cos(np.radians(cy)), cy + r * np.sin(angle)]))


def country_polygon() -> tuple[shapely.Geometry, str]:
    """Ukraine's outline (the union of the oblast outlines, when the data folder is there) and its source."""
    if OUTLINES.exists():
        features = json.loads(OUTLINES.read_text(encoding="utf-8"))["features"]
        shapes = [shapely.make_valid(shapely.geometry.shape(f["geometry"])) for f in features]
        return shapely.union_all(shapes), "oblast outlines (OSM, simplified)"
    angle = np.linspace(0.0, 2.0 * np.pi, 2000, endpoint=False)
    r = 1.0 + 0.03 * np.sin(41.0 * angle)
    x = 31.15 + 9.0 * r * np.cos(angle)
    y = 48.35 + 3.9 * r * np.sin(angle)
    return shapely.Polygon(np.column_stack([x, y])), "synthetic 2,000-vertex outline"


def _fresh(geometry: shapely.Geometry) -> shapely.Geometry:
    return shapely.from_wkb(shapely.to_wkb(geometry))


def _median_s(action: Callable[[Any], Any], repeat: int, make_arg: Callable[[], Any] = lambda: None) -> float:
    """Median wall time of ``action(make_arg())``, not counting ``make_arg``."""
    times = []
    for _ in range(repeat):
        arg = make_arg()
        start = time.perf_counter()
        action(arg)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def run(n_points: int = 10_000_000, n_shelters: int = 100_000) -> list[dict[str, Any]]:
    """Measure every figure; returns one row per figure."""
    rows = _index_rows(n_points)
    rows.append(_nearest_row(n_shelters))
    return rows


def _index_rows(n_points: int) -> list[dict[str, Any]]:
    """Build, memory and query figures of ``PointIndex`` over ``n_points`` points."""
    lon, lat = points(n_points)
    rows: list[dict[str, Any]] = []
    label = f"{n_points / 1e6:g}M"

    start = time.perf_counter()
    index = PointIndex(lon, lat)
    build = time.perf_counter() - start
    sort = _median_s(lambda _: np.argsort(lon), 1)
    rows.append(row(f"geo.index.build_{label}", build, "s", sort, "numpy.argsort of the longitudes", "<= 10 s"))
    raw_mb = (lon.nbytes + lat.nbytes) / 2**20
    rows.append(
        row(f"geo.index.memory_{label}", index.nbytes / 2**20, "MiB", raw_mb, "the lon/lat arrays", "<= 512 MiB")
    )

    def naive(geometry: shapely.Geometry) -> np.ndarray:
        return np.flatnonzero(shapely.contains_xy(geometry, lon, lat))

    country, source = country_polygon()
    city = city_polygon(lon, lat)
    for name, shape, target, repeat in (
        ("city_polygon", city, "<= 10 ms", 21),
        ("country_polygon", country, "<= 0.3 s", 5),
    ):
        found = index.query(_fresh(shape))
        exact = np.flatnonzero(shapely.intersects_xy(_fresh(shape), lon, lat))
        assert np.array_equal(found, exact), f"{name}: index and brute force differ"
        copy = partial(_fresh, shape)
        ms = _median_s(index.query, repeat, copy) * 1000
        base = _median_s(naive, max(3, repeat // 4), copy) * 1000
        share = f"{found.size:,} points ({100.0 * found.size / n_points:.1f} %)"
        detail = "" if name == "city_polygon" else f", {source}"
        rows.append(
            row(
                f"geo.index.query_{name}_{label}",
                ms,
                "ms",
                base,
                f"shapely.contains_xy over all points; {share}{detail}",
                target,
            )
        )

    # A circle around Odesa holding about 1 % of the points, like the city polygon.
    c_lat, c_lon = 46.48, 30.73
    distance = haversine_m(c_lat, c_lon, lat, lon)
    radius_km = float(np.ceil(np.partition(distance, n_points // 100)[n_points // 100] / 100.0)) / 10.0
    found = index.query_circle(c_lat, c_lon, radius_km)
    assert np.array_equal(found, np.flatnonzero(distance <= radius_km * 1000)), "query_circle and brute force differ"
    ms = _median_s(lambda _: index.query_circle(c_lat, c_lon, radius_km), 21) * 1000
    base = _median_s(lambda _: np.flatnonzero(haversine_m(c_lat, c_lon, lat, lon) <= radius_km * 1000), 3) * 1000
    share = f"{found.size:,} points ({100.0 * found.size / n_points:.1f} %) within {radius_km:g} km"
    rows.append(
        row(f"geo.index.query_circle_{label}", ms, "ms", base, f"haversine_m over all points; {share}", "<= 10 ms")
    )
    return rows


def _nearest_row(n_shelters: int) -> dict[str, Any]:
    """Per-query time of ``NearestIndex.nearest`` (k from 1 to 10) against a scan of every shelter."""
    s_lon, s_lat = points(n_shelters, seed=7)
    shelters = NearestIndex(s_lon, s_lat)
    rng = np.random.default_rng(11)
    q_lon, q_lat = points(200, seed=13)
    ks = rng.integers(1, 11, 200)
    for q in range(5):
        got, _ = shelters.nearest(float(q_lat[q]), float(q_lon[q]), int(ks[q]))
        d = haversine_m(q_lat[q], q_lon[q], s_lat, s_lon)
        assert np.array_equal(got, np.lexsort((np.arange(d.size), d))[: ks[q]]), "nearest and brute force differ"
    start = time.perf_counter()
    for q in range(q_lon.size):
        shelters.nearest(float(q_lat[q]), float(q_lon[q]), int(ks[q]))
    per_query = (time.perf_counter() - start) / q_lon.size * 1000
    start = time.perf_counter()
    for q in range(q_lon.size):
        d = haversine_m(q_lat[q], q_lon[q], s_lat, s_lon)
        np.argpartition(d, int(ks[q]))[: ks[q]]
    brute = (time.perf_counter() - start) / q_lon.size * 1000
    return row(
        f"geo.nearest.k1_10_among_{n_shelters // 1000}k",
        per_query,
        "ms",
        brute,
        "haversine_m over all shelters + argpartition",
        "<= 1 ms",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=10_000_000)
    parser.add_argument("--shelters", type=int, default=100_000)
    args = parser.parse_args()
    for result in run(args.points, args.shelters):
        print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
