"""PostGIS on the PostgreSQL backend: which geometry engine a store uses, and the queries PostGIS answers.

``SIRENA_POSTGIS`` chooses (see :data:`MODES`):

* ``auto`` (the default): when the server offers the ``postgis`` extension (``pg_available_extensions``) and
  Sirena may create it, migration ``0901_targeting_postgis`` creates it and adds point columns with GiST indexes
  to ``places`` and ``shelters``; nearest shelters and alert → places matching are then answered by the
  database. Otherwise the migration is left pending (it runs on a later start once PostGIS is installed) and
  the queries are answered in memory, as on SQLite.
* ``on``: the same, but a server without PostGIS stops the start-up instead of falling back.
* ``off``: PostGIS is neither created nor used; the queries are answered in memory.

The columns are *generated* from ``lat``/``lon`` (``GENERATED ALWAYS … STORED``), so the database fills them in
the same statement as the row, for every writer, and fills them for existing rows when the migration runs. A
database migrated with PostGIS and later opened with ``off`` keeps them current and simply does not read them.

The queries keep the meaning of the in-memory path (:mod:`sirena.geo`, :mod:`sirena.targeting`):

* distances are great-circle distances on a sphere (``use_spheroid => false``: PostGIS's sphere of radius
  6 371 008.77 m against :data:`sirena.geo.sphere.EARTH_RADIUS_M` = 6 371 008.8 m, a relative difference of
  5·10⁻⁹, under 5 mm at 1 000 km);
* drawn polygons are planar in longitude/latitude, as GeoJSON says (a ``geometry`` column and
  ``ST_Intersects``, which counts the boundary as inside, like shapely's ``intersects_xy``), after the same
  antimeridian normalisation; circles reach the points within their radius by that sphere distance;
* regions reach the places resolved to them (a GIN index on the places' region lists).

``tests/store/test_postgis.py`` compares both paths on the same data and documents the tolerances.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import shapely

from sirena.errors import ConfigurationError

__all__ = [
    "MIGRATION",
    "MODES",
    "Geometry",
    "available",
    "check_mode",
    "engine",
    "geometry_of",
    "match_places",
    "nearest_shelters",
    "shelters_within",
    "unused_notice",
]

log = logging.getLogger("sirena.store")

Mode = Literal["auto", "on", "off"]
MODES: tuple[Mode, ...] = ("auto", "on", "off")
MIGRATION = "0901_targeting_postgis"
"""The migration that creates the extension and the geometry columns (recorded only once it has run)."""


@dataclass(frozen=True, slots=True)
class Geometry:
    """The geometry engine a store uses: ``postgis`` or ``python`` (in-memory indexes), and why."""

    engine: Literal["postgis", "python"]
    version: str | None = None
    reason: str = ""
    waiting: bool = False
    """The server offers PostGIS, but its migration waits for a role that may create the extension: worth a
    warning where the schema is migrated or a server starts (see :func:`unused_notice`), not on every command."""

    def to_json(self) -> dict[str, Any]:
        found: dict[str, Any] = {"engine": self.engine}
        if self.version:
            found["postgis"] = self.version
        if self.reason:
            found["reason"] = self.reason
        return found


PYTHON = Geometry("python", reason="sqlite")


def check_mode(mode: str) -> Mode:
    for known in MODES:
        if mode == known:
            return known
    raise ConfigurationError("error.postgis_mode", value=mode)


def unused_notice(store: object, lang: str = "en") -> str | None:
    """One line saying PostGIS is left unused and how to change that, when ``store`` waits for a role that may
    create it; else None."""
    from sirena import messages

    return messages.t("cluster.postgis_unused", lang, name=MIGRATION) if geometry_of(store).waiting else None


def geometry_of(store: object) -> Geometry:
    """The engine ``store`` answers geometry queries with (``python`` for every store but an opened PostgreSQL
    one with PostGIS in use)."""
    found = getattr(store, "geometry", None)
    return found if isinstance(found, Geometry) else PYTHON


def available(conn: Any) -> bool:
    """Whether the server offers the ``postgis`` extension (installed as a package, created or not)."""
    row = conn.execute("SELECT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'postgis')").fetchone()
    return bool(row and row[0])


def created(conn: Any) -> bool:
    row = conn.execute("SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'postgis')").fetchone()
    return bool(row and row[0])


def engine(conn: Any, mode: str) -> Geometry:
    """The engine for a migrated database (a raw psycopg connection) under ``mode``; logs it."""
    mode = check_mode(mode)
    if mode == "off":
        found = Geometry("python", reason="SIRENA_POSTGIS=off")
    else:
        row = conn.execute("SELECT EXISTS (SELECT 1 FROM migrations WHERE name = %s)", (MIGRATION,)).fetchone()
        if row and row[0] and created(conn):
            version = conn.execute("SELECT extversion FROM pg_extension WHERE extname = 'postgis'").fetchone()[0]
            found = Geometry("postgis", version=str(version))
        elif not available(conn):
            found = Geometry("python", reason="the postgis extension is not installed on the server")
        else:
            reason = f"migration {MIGRATION} has not run (no right to create the extension)"
            found = Geometry("python", reason=reason, waiting=True)
    if found.engine == "postgis":
        log.info("geometry engine: PostGIS %s (nearest shelters, alert → places matching)", found.version)
    else:
        log.info("geometry engine: python, in-memory indexes (%s)", found.reason)
    return found


# -- queries (raw psycopg connections: ``%s`` placeholders, PostgreSQL operators) ---------------------------


def _query(conn: Any, sql: str, params: Sequence[Any]) -> list[Sequence[Any]]:
    """Rows of a query bound on the server (the store's own cursors bind on the client): PostgreSQL then plans
    these spatial queries in a third of the time (measured: 0.28 against 0.66 ms for a nearest-shelter query)."""
    import psycopg

    rows: list[Sequence[Any]] = psycopg.Cursor(conn).execute(sql, params, prepare=False).fetchall()
    return rows


_SHELTER_COLUMNS = "id, source, ref, lat, lon, name, capacity, accessibility, hours, address, kind, line"
_POINT = "ST_SetSRID(ST_MakePoint(%s, %s), 4326)::geography"


def nearest_shelters(conn: Any, lat: float, lon: float, limit: int) -> list[tuple[Sequence[Any], float]]:
    """The ``limit`` shelters nearest to (lat, lon) by sphere distance, nearest first (ties in import order), as
    (row of ``store.targeting`` shelter columns, metres).

    A k-nearest scan of the GiST index finds the ``limit``-th distance; the shelters within it (a range scan of
    the same index, a hair wider so rounding cannot drop one) are then ranked by distance and import order, so
    shelters tied with the last one are chosen as the in-memory path chooses them."""
    rows = _query(
        conn,
        f"WITH knn AS (SELECT geog <-> {_POINT} AS d FROM shelters ORDER BY geog <-> {_POINT} LIMIT %s) "
        f"SELECT {_SHELTER_COLUMNS}, geog <-> {_POINT} AS d FROM shelters "
        f"WHERE ST_DWithin(geog, {_POINT}, (SELECT MAX(d) * (1 + 1e-9) + 1e-6 FROM knn), false) "
        "ORDER BY d, n LIMIT %s",
        (lon, lat, lon, lat, limit, lon, lat, lon, lat, limit),
    )
    return [(row[:-1], float(row[-1])) for row in rows]


def shelters_within(conn: Any, west: float, south: float, east: float, north: float, limit: int) -> list[Sequence[Any]]:
    """Rows of the shelters in a longitude/latitude box, edges included (``west > east`` crosses the
    antimeridian), in import order, at most ``limit``."""
    boxes = (
        [(west, south, east, north)] if west <= east else [(west, south, 180.0, north), (-180.0, south, east, north)]
    )
    # The index finds the candidates (its boxes are rounded outwards), the columns decide: exact, edges included,
    # also for a box of no width or height.
    one = "(geom && ST_MakeEnvelope(%s, %s, %s, %s, 4326) AND lon BETWEEN %s AND %s AND lat BETWEEN %s AND %s)"
    where = " OR ".join(one for _ in boxes)
    params = [v for w, s, e, n in boxes for v in (w, s, e, n, w, e, s, n)]
    return _query(conn, f"SELECT {_SHELTER_COLUMNS} FROM shelters WHERE {where} ORDER BY n LIMIT %s", (*params, limit))


def match_places(
    conn: Any,
    regions: Sequence[str],
    *,
    geometry: shapely.Geometry | None = None,
    circle: tuple[float, float, float] | None = None,
) -> list[tuple[int, str]]:
    """(key, subscriber) of the places an alert reaches, by key: places registered as one of ``regions``; for a
    region alert (neither ``geometry`` nor ``circle``) also points resolved to one of them; for a polygon alert
    the points in ``geometry`` (lon/lat, normalized), for a circle (lat, lon, metres) the points within it."""
    by_geometry = geometry is not None or circle is not None
    parts: list[str] = []
    params: list[Any] = []
    if regions:
        kinds = "kind = 'region' AND " if by_geometry else ""
        parts.append(f"SELECT n, subscriber FROM places WHERE {kinds}regions::jsonb ?| %s::text[]")
        params.append(list(regions))
    if geometry is not None:
        parts.append("SELECT n, subscriber FROM places WHERE ST_Intersects(geom, ST_GeomFromWKB(%s, 4326))")
        params.append(shapely.to_wkb(geometry))
    elif circle is not None:
        lat, lon, metres = circle
        parts.append(f"SELECT n, subscriber FROM places WHERE ST_DWithin(geog, {_POINT}, %s, false)")
        params.extend((lon, lat, metres))
    if not parts:
        return []
    # The parts never share a place (regions pick region places alone when points go by geometry), so no
    # duplicate elimination is needed.
    rows = _query(conn, " UNION ALL ".join(parts) + " ORDER BY n", params)
    return [(int(n), str(subscriber)) for n, subscriber in rows]
