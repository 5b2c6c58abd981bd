"""PostGIS against the in-memory path: the same shelters, places and alerts in a SQLite store (numpy indexes) and
in a PostgreSQL store with PostGIS (``SIRENA_POSTGIS=auto``), the same questions, the same answers.

Tolerances (also in ``docs/deploy.md``):

* distances: PostGIS measures on a sphere of radius 6 371 008.77 m, :mod:`sirena.geo` on one of 6 371 008.8 m,
  so distances may differ by ``DISTANCE_REL`` (relative) plus ``DISTANCE_ABS`` (rounding); shelters at distances
  that close may swap places in a ranking;
* circles: a point whose distance from the centre is within that same tolerance of the radius may be in on one
  path and out on the other;
* polygons: both count the boundary as inside; a point within ``BOUNDARY_DEG`` of a polygon's boundary (and not
  on a vertex or an axis-parallel edge, which are exact) may be decided either way by floating point.

Anything else must be identical. The PostGIS side needs the extension on the test server (``.ci/run`` installs
it): without it these tests skip locally and fail under ``CI=true``.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import psycopg
import psycopg.conninfo
import pytest
import shapely
from targeting_helpers import circle_alert, offset, polygon_alert, region_alert, star, ukraine

from sirena import testing
from sirena.cluster.testing import admin_url, scratch_database, unique_name
from sirena.domain.model import Alert
from sirena.errors import ConfigurationError, ValidationFailed
from sirena.geo import haversine_m
from sirena.shelters import ShelterDirectory
from sirena.store import Store, open_store
from sirena.store import targeting as sql
from sirena.store.postgis import MIGRATION, geometry_of
from sirena.targeting import PlaceRegistry
from sirena.targeting.place import Place, PlaceKind
from sirena.targeting.resolve import PointResolver

DISTANCE_REL = 1e-8
DISTANCE_ABS = 1e-6
BOUNDARY_DEG = 1e-9
SEED = 20261125


def tolerance(metres: float) -> float:
    return DISTANCE_REL * metres + DISTANCE_ABS


@pytest.fixture(scope="module")
def postgis_server() -> None:
    with psycopg.connect(admin_url(), autocommit=True) as conn:
        row = conn.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'postgis'").fetchone()
    if row is None:
        if os.environ.get("CI") == "true":
            pytest.fail("the PostgreSQL server has no postgis extension (.ci/run installs it)")
        pytest.skip("the PostgreSQL server has no postgis extension")


@pytest.fixture
def pg_url(postgis_server: None) -> Iterator[str]:
    with scratch_database(prefix="sirena_gis") as url:
        yield url


@pytest.fixture
async def stores(pg_url: str, tmp_path: Path) -> AsyncIterator[tuple[Store, Store]]:
    """(SQLite: the in-memory path, PostgreSQL with PostGIS)."""
    python, postgis = open_store(f"sqlite:///{tmp_path / 'db.sqlite'}"), open_store(pg_url, postgis="auto")
    await python.open()
    await postgis.open()
    assert geometry_of(python).engine == "python"
    assert geometry_of(postgis).engine == "postgis"
    yield python, postgis
    await postgis.close()
    await python.close()


# -- data -----------------------------------------------------------------------------------------------------


def shelters_csv(rng: np.random.Generator, n: int) -> bytes:
    lat = rng.uniform(44.4, 52.3, n)
    lon = rng.uniform(22.2, 40.2, n)
    lat[n - 20 :] = lat[:20]  # shelters at the same spot as others: exact ties, ranked in import order
    lon[n - 20 :] = lon[:20]
    lat[n - 50 : n - 20] = lat[25]  # thirty at one spot: more ties than any k asked for
    lon[n - 50 : n - 20] = lon[25]
    lines = ["id,lat,lon,name"] + [
        f"s{i},{float(a)!r},{float(o)!r},shelter {i}" for i, (a, o) in enumerate(zip(lat, lon, strict=True))
    ]
    return ("\n".join(lines) + "\n").encode()


def outline_vertices(geometry: shapely.Geometry, step: int) -> list[tuple[float, float]]:
    coords = shapely.get_coordinates(shapely.boundary(geometry))
    return [(float(y), float(x)) for x, y in coords[::step]]


def places(rng: np.random.Generator, n: int) -> list[tuple[float | None, float | None, str | None]]:
    """(lat, lon, None) points and (None, None, region) places, labelled by position."""
    registry = ukraine()
    found: list[tuple[float | None, float | None, str | None]] = [
        (float(a), float(o), None) for a, o in zip(rng.uniform(44.3, 52.5, n), rng.uniform(22.0, 40.3, n), strict=True)
    ]
    # Points on the edges and corners of the rectangle alert below, and on the outline of an oblast.
    found += [(50.0, 30.5, None), (50.5, 30.0, None), (50.0, 30.0, None), (51.0, 31.0, None), (50.5, 31.0, None)]
    kyiv_oblast = registry.geometry("14")
    assert kyiv_oblast is not None
    found += [(a, o, None) for a, o in outline_vertices(kyiv_oblast, 97)]
    # Points just inside and just outside a circle's radius (5 km around Kyiv), and on it within a millimetre.
    for metres in (4999.0, 4999.999, 5000.001, 5001.0, 5000.0):
        for bearing in range(0, 360, 45):
            east, north = metres * np.sin(np.radians(bearing)), metres * np.cos(np.radians(bearing))
            a, o = offset(50.45, 30.52, float(north), float(east))
            found.append((a, o, None))
    # Points on both sides of the antimeridian, and on it.
    found += [
        (float(a), float(o), None) for a, o in zip(rng.uniform(-6, 6, 60), rng.uniform(165, 180, 60), strict=True)
    ]
    found += [
        (float(a), float(o), None) for a, o in zip(rng.uniform(-6, 6, 60), rng.uniform(-180, -165, 60), strict=True)
    ]
    found += [(0.0, 180.0, None), (0.0, -180.0, None)]
    ids = [r.id for r in registry]
    found += [(None, None, str(rng.choice(ids))) for _ in range(n // 10)]
    return found


async def fill_places(
    store: Store, rows: list[tuple[float | None, float | None, str | None]], prefix: str = "P"
) -> None:
    registry = ukraine()
    resolver = PointResolver(registry)
    made: list[Place] = []
    at = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    for i, (lat, lon, region) in enumerate(rows):
        subscriber = f"subscriber-{i % 997:04d}"
        if region is not None:
            made.append(
                Place(
                    f"{prefix}{i:07d}",
                    subscriber,
                    PlaceKind.REGION,
                    (region,),
                    at,
                    level=registry.get(region).level,
                    label=f"p{i}",
                )
            )
        else:
            assert lat is not None and lon is not None
            try:
                res = resolver.resolve(lat, lon)
                resolved, level = res.regions, res.level
            except ValidationFailed:  # outside every region: kept, reached by geometry alone
                resolved, level = (), None
            made.append(
                Place(
                    f"{prefix}{i:07d}",
                    subscriber,
                    PlaceKind.POINT,
                    resolved,
                    at,
                    lat=lat,
                    lon=lon,
                    level=level,
                    label=f"p{i}",
                )
            )

    def insert(conn: sql.Connection) -> None:
        for place in made:
            sql.insert_place(conn, place, 10**9)

    await sql.sql_access(store).transaction(insert)


def alerts(rng: np.random.Generator) -> list[Alert]:
    registry = ukraine()
    found = [
        polygon_alert(shapely.box(30.0, 50.0, 31.0, 51.0)),
        polygon_alert(registry.geometry("14")),  # type: ignore[arg-type]
        circle_alert(50.45, 30.52, 5.0),
        region_alert(["31"]),
        region_alert(["UA"]),
        # Outside the antimeridian-free Ukrainian data: a polygon across it (normalized in both paths alike).
        polygon_alert(shapely.Polygon([(170.0, -5.0), (-170.0, -5.0), (-172.0, 5.0), (172.0, 6.0)])),
        circle_alert(0.0, 179.5, 300.0),
    ]
    ids = [r.id for r in registry]
    for _ in range(6):
        cx, cy = float(rng.uniform(24.0, 38.0)), float(rng.uniform(45.5, 51.5))
        found.append(polygon_alert(star(cx, cy, 0.2, 1.5, 12, rng)))
        found.append(circle_alert(cy, cx, float(rng.uniform(1.0, 150.0))))
        found.append(region_alert([str(rng.choice(ids))]))
    return found


# -- tests ----------------------------------------------------------------------------------------------------


async def test_nearest_shelters_agree(stores: tuple[Store, Store]) -> None:
    rng = np.random.default_rng(SEED)
    data = shelters_csv(rng, 3000)
    python, postgis = (ShelterDirectory(s) for s in stores)
    for directory in (python, postgis):
        await directory.import_file(data, source="test", name="shelters.csv")
    snapshot = await python.snapshot()
    queries = [
        (float(a), float(o)) for a, o in zip(rng.uniform(44.0, 52.6, 250), rng.uniform(21.5, 40.5, 250), strict=True)
    ]
    queries += [(s.lat, s.lon) for s in snapshot.shelters[:10]]  # on a shelter, and on the tied ones
    queries += [(snapshot.shelters[25].lat, snapshot.shelters[25].lon)]
    queries += [(-33.9, 18.4), (64.1, -21.9), (50.45, 179.9)]  # far away
    compared = 0
    for lat, lon in queries:
        for k in (1, 5, 20):
            expected = await python.nearest(lat, lon, k)
            found = await postgis.nearest(lat, lon, k)
            assert len(found) == len(expected) == k
            dist = {s.id: d for s, d in expected}
            for (got, got_m), (want, want_m) in zip(found, expected, strict=True):
                assert abs(got_m - want_m) <= tolerance(want_m), (lat, lon, k)
                if got.id != want.id:  # a swap of two shelters at the same distance, within the tolerance
                    assert got.id in dist or abs(got_m - expected[-1][1]) <= tolerance(got_m), (lat, lon, k)
                    assert abs(dist.get(got.id, got_m) - want_m) <= tolerance(want_m), (lat, lon, k)
                else:
                    assert got == want
                compared += 1
    assert compared == len(queries) * 26
    crowd = await postgis.nearest(snapshot.shelters[25].lat, snapshot.shelters[25].lon, 20)
    assert [s.line for s, _ in crowd] == sorted(s.line for s, _ in crowd)  # the tied ones in import order
    assert await postgis.nearest(50.45, 30.52, 0) == []


async def test_shelters_in_a_box_agree(stores: tuple[Store, Store]) -> None:
    """The map's boxes: edges included, exactly (a shelter on an edge is in), across the antimeridian too."""
    rng = np.random.default_rng(SEED + 3)
    data = shelters_csv(rng, 2000)
    python, postgis = (ShelterDirectory(s) for s in stores)
    for directory in (python, postgis):
        await directory.import_file(data, source="test", name="shelters.csv")
    snapshot = await python.snapshot()
    a, b = snapshot.shelters[3], snapshot.shelters[7]
    boxes = [
        (-180.0, -90.0, 180.0, 90.0),
        (min(a.lon, b.lon), min(a.lat, b.lat), max(a.lon, b.lon), max(a.lat, b.lat)),  # two shelters on corners
        (a.lon, a.lat, a.lon, a.lat),  # one point
        (170.0, -90.0, 35.0, 90.0),  # across the antimeridian
        (30.0, 49.0, 31.0, 50.0),
    ]
    for _ in range(20):
        west, east = sorted(rng.uniform(22.0, 40.0, 2))
        south, north = sorted(rng.uniform(44.0, 52.5, 2))
        boxes.append((float(west), float(south), float(east), float(north)))
    for box in boxes:
        for limit in (5, 100_000):
            expected = await python.within(*box, limit=limit)
            assert await postgis.within(*box, limit=limit) == expected, box
    assert {a.id, b.id} <= {s.id for s in await postgis.within(*boxes[1], limit=100_000)}


async def test_places_matched_alike(stores: tuple[Store, Store]) -> None:
    rng = np.random.default_rng(SEED + 1)
    rows = places(rng, 4000)
    python, postgis = (PlaceRegistry(s, ukraine()) for s in stores)
    for store in stores:
        await fill_places(store, rows)
    for a in alerts(rng):
        expected = {p.label for p in await python.match_places(a)}
        found = {p.label for p in await postgis.match_places(a)}
        assert await postgis.match(a) == await python.match(a) or expected != found
        differ = expected ^ found
        for label in differ:  # only on a boundary, within the documented tolerance
            lat, lon, _ = rows[int(str(label)[1:])]
            assert lat is not None and lon is not None, (a.target, label)
            if a.target.circle is not None:
                c = a.target.circle
                metres = float(haversine_m(c.lat, c.lon, lat, lon))
                assert abs(metres - c.radius_km * 1000) <= tolerance(metres), (a.target.circle, label, metres)
            else:
                area = python.area(a).geometry
                assert area is not None
                assert shapely.distance(shapely.boundary(area), shapely.Point(lon, lat)) <= BOUNDARY_DEG, label
        assert len(differ) <= 2, differ
    # The edge cases were there and decided: corners and edges of the rectangle are inside.
    box_alert = polygon_alert(shapely.box(30.0, 50.0, 31.0, 51.0))
    inside = {p.label for p in await postgis.match_places(box_alert)}
    n = 4000
    assert {f"p{n}", f"p{n + 1}", f"p{n + 2}", f"p{n + 3}", f"p{n + 4}"} <= inside


async def test_postgis_off_then_auto(postgis_server: None) -> None:
    """``SIRENA_POSTGIS=off`` creates nothing and answers in memory; opening the same database with ``auto``
    later creates the extension, fills the columns for the rows already there and answers the same."""
    rng = np.random.default_rng(SEED + 2)
    rows = places(rng, 300)
    asked = alerts(rng)
    with scratch_database(prefix="sirena_gis") as url:
        off = open_store(url, postgis="off")
        await off.open()
        try:
            assert geometry_of(off).engine == "python"
            await fill_places(off, rows)
            directory = ShelterDirectory(off)
            await directory.import_file(shelters_csv(rng, 200), source="test", name="shelters.csv")
            registry = PlaceRegistry(off, ukraine())
            before = {a.id: {p.label for p in await registry.match_places(a)} for a in asked}
            nearest_before = await directory.nearest(50.45, 30.52, 5)
            await registry.close()
        finally:
            await off.close()
        with psycopg.connect(url) as conn:
            assert conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'postgis'").fetchone() is None
            assert conn.execute("SELECT 1 FROM migrations WHERE name = %s", (MIGRATION,)).fetchone() is None

        auto = open_store(url, postgis="auto")
        await auto.open()
        try:
            assert geometry_of(auto).engine == "postgis"
            with psycopg.connect(url) as conn:
                points, filled = conn.execute("SELECT COUNT(lat), COUNT(geog) FROM places").fetchone()
                assert points == filled > 300
                assert conn.execute("SELECT COUNT(*) FROM shelters WHERE geog IS NULL").fetchone() == (0,)
            registry = PlaceRegistry(auto, ukraine())
            after = {a.id: {p.label for p in await registry.match_places(a)} for a in asked}
            assert after.keys() == before.keys()
            for alert_id, labels in before.items():
                assert len(labels ^ after[alert_id]) <= 2
            nearest_after = await ShelterDirectory(auto).nearest(50.45, 30.52, 5)
            assert [s.id for s, _ in nearest_after] == [s.id for s, _ in nearest_before]
        finally:
            await auto.close()
        # Back to off: the columns stay (kept current by the database), the in-memory path answers.
        again = open_store(url, postgis="off")
        await again.open()
        try:
            assert geometry_of(again).engine == "python"
            await fill_places(again, [(50.45, 30.52, None)], prefix="Q")
            with psycopg.connect(url) as conn:
                assert conn.execute(
                    "SELECT COUNT(*) FROM places WHERE lat IS NOT NULL AND geog IS NULL"
                ).fetchone() == (0,)
        finally:
            await again.close()


@pytest.fixture
def owner_url(postgis_server: None) -> Iterator[str]:
    """A scratch database owned by a role that is not a superuser, as that role. PostGIS is not a trusted
    extension, so the owner may not create it."""
    role = unique_name("sirena_owner")
    with psycopg.connect(admin_url(), autocommit=True) as admin:
        admin.execute(f'CREATE ROLE "{role}" LOGIN')
    try:
        with scratch_database(prefix="sirena_gis") as url:
            name = str(psycopg.conninfo.conninfo_to_dict(url)["dbname"])
            with psycopg.connect(admin_url(), autocommit=True) as admin:
                admin.execute(f'ALTER DATABASE "{name}" OWNER TO "{role}"')
            try:
                yield url.replace("postgresql://postgres@", f"postgresql://{role}@")
            finally:
                with psycopg.connect(url, autocommit=True) as conn:
                    conn.execute(f'REASSIGN OWNED BY "{role}" TO postgres')
                with psycopg.connect(admin_url(), autocommit=True) as admin:
                    admin.execute(f'ALTER DATABASE "{name}" OWNER TO postgres')
    finally:
        with psycopg.connect(admin_url(), autocommit=True) as admin:
            admin.execute(f'DROP ROLE IF EXISTS "{role}"')


async def test_a_role_that_may_not_create_postgis(owner_url: str) -> None:
    """``auto`` carries on in memory (the migration stays pending), ``on`` refuses to start."""
    store = open_store(owner_url, postgis="auto")
    await store.open()
    try:
        assert geometry_of(store).engine == "python"
        assert "has not run" in geometry_of(store).reason
        assert geometry_of(store).waiting
        directory = ShelterDirectory(store)
        await directory.import_file(shelters_csv(np.random.default_rng(SEED), 100), source="t", name="s.csv")
        assert len(await directory.nearest(50.45, 30.52, 3)) == 3
    finally:
        await store.close()
    with pytest.raises(ConfigurationError) as refused:
        await open_store(owner_url, postgis="on").open()
    assert MIGRATION in refused.value.detail()
    with psycopg.connect(owner_url) as conn:
        assert conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'postgis'").fetchone() is None


def test_postgis_left_unused_is_said_by_migrate_not_by_every_command(owner_url: str) -> None:
    """As a user sees it (real processes, no logging set up): the warning is one line on stderr from `sirena
    migrate`, which still succeeds; other commands opening the same database say nothing about it, and with
    SIRENA_POSTGIS=off neither does migrate."""

    def sirena(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "sirena", *args, "--database-url", owner_url]
        return subprocess.run(command, capture_output=True, text=True, timeout=120, env={**os.environ, **env})

    for args in (["list"], ["token", "list"]):
        quiet = sirena(*args)
        assert quiet.returncode == 0, quiet.stderr
        assert quiet.stderr == ""
    migrated = sirena("migrate")
    assert migrated.returncode == 0
    assert migrated.stdout == "database is up to date\n"
    assert migrated.stderr.count("\n") == 1
    assert migrated.stderr.startswith("sirena: PostGIS left unused: migration 0901_targeting_postgis")
    off = sirena("migrate", SIRENA_POSTGIS="off")
    assert off.returncode == 0 and off.stderr == ""


async def test_postgis_left_unused_is_logged_once_when_a_server_starts(
    owner_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG, logger="sirena"):
        async with testing.api(tmp_path, database_url=owner_url, postgis="auto") as api:
            assert (await api.client.get("/readyz")).json()["database"]["geometry"]["engine"] == "python"
    warned = [r for r in caplog.records if r.levelno >= logging.WARNING and "PostGIS" in r.getMessage()]
    assert [r.getMessage().split(":")[0] for r in warned] == ["PostGIS left unused"]


@pytest.mark.parametrize(("mode", "engine"), [("auto", "postgis"), ("off", "python")])
async def test_readyz_names_the_geometry_engine(pg_url: str, tmp_path: Path, mode: str, engine: str) -> None:
    async with testing.api(tmp_path, database_url=pg_url, postgis=mode) as api:
        body = (await api.client.get("/readyz")).json()
        assert body["database"]["geometry"]["engine"] == engine
    async with testing.api(tmp_path / "sqlite") as api:
        body = (await api.client.get("/readyz")).json()
        assert body["database"]["geometry"] == {"engine": "python", "reason": "sqlite"}


def test_bad_mode_is_refused() -> None:
    with pytest.raises(ConfigurationError):
        open_store("sqlite:///x.db", postgis="maybe")
