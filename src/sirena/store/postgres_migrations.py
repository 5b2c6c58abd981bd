"""The PostgreSQL schema: the SQLite migrations translated (:func:`sirena.store.sql.postgres_ddl`), plus the few
entries only PostgreSQL needs, applied in order under an advisory lock (several nodes may start at once) and
recorded by name in ``migrations`` like on SQLite.

Migrations in :data:`POSTGIS_ONLY` run only where PostGIS is wanted and available (``SIRENA_POSTGIS``, see
:mod:`sirena.store.postgis`); until then they stay unrecorded, so a server that gets PostGIS later applies them on
its next start, after every other migration.

A migration that cannot be translated gets an entry in :data:`OVERRIDES` (same name, PostgreSQL text). One that
fails stops the start-up with its name, so an area whose schema does not run on PostgreSQL never starts half
working. So does a migration of an area not in :data:`VERIFIED_AREAS` (the ``<area>`` of ``NNNN_<area>_…``): an
area is verified once its SQL runs in tests on both backends (the differential test in ``tests/store/contract``,
or the area's own tests parametrized over SQLite and PostgreSQL).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sirena.errors import ConfigurationError
from sirena.protocol.alert_json import format_time
from sirena.store.migrations import SQLITE
from sirena.store.sql import postgres_ddl, statements

if TYPE_CHECKING:
    import psycopg

MIGRATE_LOCK = 0x53495245_4E410002

VERIFIED_AREAS = frozenset(
    {"advisories", "alerts", "auth", "cap", "cluster", "compat", "delivery", "history", "targeting"}
)
"""Areas whose SQL is tested on PostgreSQL as well as SQLite."""

OVERRIDES: dict[str, str] = {
    # SQLite rebuilds three tables to drop AUTOINCREMENT and cluster two on their keys; PostgreSQL has neither
    # notion, so only the version bodies (now read from the version's event) go.
    "1100_alerts_lean_writes": "ALTER TABLE alert_versions DROP COLUMN body",
    # The same counter, moved by a statement trigger; the store reads it with each commit of events, under the
    # write lock (``PostgresStore.revision_at``).
    "1200_delivery_subscription_revisions": """
        CREATE TABLE revisions (
            name TEXT COLLATE "C" PRIMARY KEY,
            rev BIGINT NOT NULL
        );
        INSERT INTO revisions (name, rev) VALUES ('webhook_subscriptions', 0);
        CREATE FUNCTION webhook_subscriptions_revision() RETURNS trigger LANGUAGE plpgsql AS
            'BEGIN UPDATE revisions SET rev = rev + 1 WHERE name = ''webhook_subscriptions''; RETURN NULL; END';
        CREATE TRIGGER webhook_subscriptions_changed AFTER INSERT OR UPDATE OR DELETE ON webhook_subscriptions
            FOR EACH STATEMENT EXECUTE FUNCTION webhook_subscriptions_revision();
        """,
}
"""Migration name → its PostgreSQL text, where the translation of the SQLite text would be wrong."""

POSTGRES_ONLY: tuple[tuple[str, str], ...] = (
    (
        "0900_cluster_postgres_rowids",
        # SQLite gives every table a ``rowid``; the area SQL reads it on these two (record numbers of imported
        # alerts, the order CAP messages arrived in), so they get one here, assigned in insertion order.
        """
        ALTER TABLE alerts ADD COLUMN rowid BIGINT GENERATED ALWAYS AS IDENTITY;
        ALTER TABLE cap_messages ADD COLUMN rowid BIGINT GENERATED ALWAYS AS IDENTITY;
        """,
    ),
)


POSTGIS_ONLY: tuple[tuple[str, str], ...] = (
    (
        "0901_targeting_postgis",
        # Points of places and shelters as PostGIS values the database derives from lat/lon itself (generated
        # columns: filled for existing rows here, and in the same statement as every row written later).
        # ``geom`` (planar lon/lat) answers drawn polygons and map boxes, ``geog`` (sphere) circles and nearest
        # shelters.
        """
        CREATE EXTENSION IF NOT EXISTS postgis;
        ALTER TABLE places
            ADD COLUMN geom geometry(Point, 4326) GENERATED ALWAYS AS (ST_SetSRID(ST_MakePoint(lon, lat), 4326)) STORED,
            ADD COLUMN geog geography(Point, 4326)
                GENERATED ALWAYS AS (ST_SetSRID(ST_MakePoint(lon, lat), 4326)::geography) STORED;
        CREATE INDEX places_geom ON places USING gist (geom);
        CREATE INDEX places_geog ON places USING gist (geog);
        CREATE INDEX places_regions ON places USING gin ((regions::jsonb));
        ALTER TABLE shelters
            ADD COLUMN geom geometry(Point, 4326) GENERATED ALWAYS AS (ST_SetSRID(ST_MakePoint(lon, lat), 4326)) STORED,
            ADD COLUMN geog geography(Point, 4326)
                GENERATED ALWAYS AS (ST_SetSRID(ST_MakePoint(lon, lat), 4326)::geography) STORED;
        CREATE INDEX shelters_geom ON shelters USING gist (geom);
        CREATE INDEX shelters_geog ON shelters USING gist (geog);
        """,
    ),
)
"""Migrations that need PostGIS, applied when ``SIRENA_POSTGIS`` is ``auto`` (and PostGIS is there) or ``on``."""


def migrations() -> list[tuple[str, str]]:
    """Every migration, in order, as PostgreSQL runs it."""
    translated = [(name, OVERRIDES.get(name) or postgres_ddl(sql)) for name, sql in SQLITE]
    return [*translated, *POSTGRES_ONLY]


def unverified(names: list[str]) -> list[str]:
    """The migrations of areas not (yet) verified on PostgreSQL."""
    return [name for name in names if name.split("_")[1:2] and name.split("_")[1] not in VERIFIED_AREAS]


def migrate(conn: psycopg.Connection[Any], *, postgis: str = "auto") -> list[str]:
    """Apply every migration not yet recorded (on an autocommit connection), and the PostGIS ones when
    ``postgis`` (``auto``, ``on``, ``off``) asks for them and the server can; returns the names applied."""
    import psycopg

    from sirena.store import postgis as gis

    mode = gis.check_mode(postgis)

    pending = migrations()
    bad = unverified([name for name, _ in pending])
    if bad:
        raise ConfigurationError("error.postgres_area", name=bad[0], area=bad[0].split("_")[1])
    conn.execute("SELECT pg_advisory_lock(%s)", (MIGRATE_LOCK,))
    try:
        found = conn.execute("SELECT to_regclass('migrations') IS NOT NULL").fetchone()
        if not (found and found[0]):  # only the first start needs the right to create tables
            conn.execute('CREATE TABLE migrations (name TEXT COLLATE "C" PRIMARY KEY, applied_at TEXT NOT NULL)')
        done = {row[0] for row in conn.execute("SELECT name FROM migrations").fetchall()}
        applied: list[str] = []
        for name, sql in pending:
            if name in done:
                continue
            try:
                _run(conn, name, sql)
            except psycopg.Error as exc:
                raise ConfigurationError("error.postgres_migration", name=name, reason=_reason(exc)) from None
            applied.append(name)
        if mode != "off" and any(name not in done for name, _ in POSTGIS_ONLY):
            applied.extend(_apply_postgis(conn, mode, done))
        return applied
    finally:
        conn.execute("SELECT pg_advisory_unlock(%s)", (MIGRATE_LOCK,))


def _run(conn: psycopg.Connection[Any], name: str, sql: str) -> None:
    with conn.transaction():
        for statement in statements(sql):
            conn.execute(statement.replace("%", "%%"), ())
        conn.execute(
            "INSERT INTO migrations (name, applied_at) VALUES (%s, %s)", (name, format_time(datetime.now(UTC)))
        )


def _reason(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def _apply_postgis(conn: psycopg.Connection[Any], mode: str, done: set[str]) -> list[str]:
    """The PostGIS migrations, when the server offers the extension; under ``auto`` a server without it, or a
    role that may not create it, leaves them pending (the in-memory path answers), under ``on`` it is an error."""
    import psycopg

    from sirena.store import postgis as gis

    if not gis.available(conn):
        if mode == "on":
            raise ConfigurationError("error.postgis_missing")
        return []
    applied: list[str] = []
    for name, sql in POSTGIS_ONLY:
        if name in done:
            continue
        try:
            _run(conn, name, sql)
        except psycopg.errors.InsufficientPrivilege as exc:
            if mode == "on":
                raise ConfigurationError("error.postgres_migration", name=name, reason=_reason(exc)) from None
            # Pending until a role that may runs it; said where useful (`sirena migrate`, a server starting)
            # rather than by every command that opens the store (see :func:`sirena.store.postgis.unused_notice`).
            gis.log.debug("PostGIS left unused: migration %s needs a role that may create it (%s)", name, _reason(exc))
            return applied
        except psycopg.Error as exc:
            raise ConfigurationError("error.postgres_migration", name=name, reason=_reason(exc)) from None
        applied.append(name)
    return applied
