"""SQL for targeting: subscribers' places with a change log, shelters and their imports. Functions of a
portable connection (``sirena.store.sql.Connection``), run through ``store.transaction`` (writes) and
``store.read`` (reads).

Every place added or deleted appends a row to ``place_log``, so an in-memory index can follow the table by
reading only what changed. The log keeps its last :data:`LOG_KEEP` rows; a reader further behind reloads.
The SQL keeps to the dialect SQLite and PostgreSQL share (``?`` placeholders, ``RETURNING``, ``BEGIN`` on
readers), except the PostGIS queries at the end, which run only on a PostgreSQL store whose geometry engine is
PostGIS (:mod:`sirena.store.postgis`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, TypeVar

from sirena.errors import ConfigurationError
from sirena.protocol.alert_json import format_time, parse_time
from sirena.shelters.model import Accessibility, Shelter
from sirena.store import postgis
from sirena.store.sql import Connection
from sirena.targeting.place import Place, PlaceKind

T = TypeVar("T")

LOG_KEEP = 100_000
_PLACE_COLUMNS = "n, id, subscriber, kind, lat, lon, regions, level, label, created_at"
_SHELTER_COLUMNS = "id, source, ref, lat, lon, name, capacity, accessibility, hours, address, kind, line"


class SQLAccess(Protocol):
    async def transaction(self, fn: Callable[[Connection], T]) -> T: ...
    async def read(self, fn: Callable[[Connection], T]) -> T: ...


def sql_access(store: object) -> SQLAccess:
    """The store as something that runs SQL functions, or :class:`ConfigurationError` for a backend without."""
    if not (callable(getattr(store, "transaction", None)) and callable(getattr(store, "read", None))):
        raise ConfigurationError("error.configuration")
    return store  # type: ignore[return-value]


# -- places ------------------------------------------------------------------------------------------------


class TooManyPlaces(Exception):
    """Raised inside the transaction when a subscriber already has the most places allowed."""


def _place(row: Sequence[Any]) -> Place:
    created = parse_time(row[9])
    assert created is not None
    return Place(
        key=int(row[0]),
        id=str(row[1]),
        subscriber=str(row[2]),
        kind=PlaceKind(row[3]),
        lat=None if row[4] is None else float(row[4]),
        lon=None if row[5] is None else float(row[5]),
        regions=tuple(json.loads(row[6])),
        level=row[7],
        label=row[8],
        created_at=created,
    )


def insert_place(conn: Connection, place: Place, limit: int) -> Place:
    """Store a place (its ``key`` is assigned here) and log it; :class:`TooManyPlaces` past ``limit``."""
    (count,) = conn.execute("SELECT COUNT(*) FROM places WHERE subscriber = ?", (place.subscriber,)).fetchone()
    if count >= limit:
        raise TooManyPlaces(place.subscriber)
    row = conn.execute(
        "INSERT INTO places (id, subscriber, kind, lat, lon, regions, level, label, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING n",
        (
            place.id,
            place.subscriber,
            place.kind.value,
            place.lat,
            place.lon,
            json.dumps(list(place.regions)),
            place.level,
            place.label,
            format_time(place.created_at),
        ),
    ).fetchone()
    key = int(row[0])
    _log(conn, key, "add")
    found = get_place(conn, place.id)
    assert found is not None
    return found


def delete_place(conn: Connection, place_id: str) -> Place | None:
    found = get_place(conn, place_id)
    if found is None:
        return None
    conn.execute("DELETE FROM places WHERE n = ?", (found.key,))
    _log(conn, found.key, "del")
    return found


def delete_subscriber(conn: Connection, subscriber: str) -> int:
    """Delete every place of a subscriber; how many there were."""
    keys = [int(r[0]) for r in conn.execute("SELECT n FROM places WHERE subscriber = ?", (subscriber,))]
    for key in keys:
        conn.execute("DELETE FROM places WHERE n = ?", (key,))
        _log(conn, key, "del")
    return len(keys)


def _log(conn: Connection, key: int, op: str) -> None:
    seq = int(conn.execute("INSERT INTO place_log (n, op) VALUES (?, ?) RETURNING seq", (key, op)).fetchone()[0])
    if seq % 1000 == 0:
        conn.execute("DELETE FROM place_log WHERE seq <= ?", (seq - LOG_KEEP,))


def get_place(conn: Connection, place_id: str) -> Place | None:
    row = conn.execute(f"SELECT {_PLACE_COLUMNS} FROM places WHERE id = ?", (place_id,)).fetchone()
    return _place(row) if row else None


def list_places(conn: Connection, subscriber: str) -> list[Place]:
    rows = conn.execute(f"SELECT {_PLACE_COLUMNS} FROM places WHERE subscriber = ? ORDER BY n", (subscriber,))
    return [_place(r) for r in rows]


def places_by_key(conn: Connection, keys: Iterable[int]) -> list[Place]:
    wanted = sorted(set(keys))
    found: list[Place] = []
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        marks = ",".join("?" * len(chunk))
        found.extend(
            _place(r) for r in conn.execute(f"SELECT {_PLACE_COLUMNS} FROM places WHERE n IN ({marks})", chunk)
        )
    return sorted(found, key=lambda p: p.key)


@dataclass(frozen=True, slots=True)
class PlaceRows:
    """Places as plain columns: key, subscriber, kind, lat, lon, regions (JSON text), ordered by key."""

    keys: list[int]
    subscribers: list[str]
    kinds: list[str]
    lat: list[float | None]
    lon: list[float | None]
    regions: list[str]


def _rows(cursor: Iterable[Sequence[Any]]) -> PlaceRows:
    rows = PlaceRows([], [], [], [], [], [])
    for n, subscriber, kind, lat, lon, regions in cursor:
        rows.keys.append(int(n))
        rows.subscribers.append(str(subscriber))
        rows.kinds.append(str(kind))
        rows.lat.append(lat)
        rows.lon.append(lon)
        rows.regions.append(str(regions))
    return rows


def load_places(conn: Connection) -> tuple[int, PlaceRows]:
    """Every place and the log position they reflect, read consistently."""
    conn.execute("BEGIN")
    try:
        seq = int(conn.execute("SELECT COALESCE(MAX(seq), 0) FROM place_log").fetchone()[0])
        rows = _rows(conn.execute("SELECT n, subscriber, kind, lat, lon, regions FROM places ORDER BY n"))
    finally:
        conn.execute("COMMIT")
    return seq, rows


@dataclass(frozen=True, slots=True)
class PlaceChanges:
    seq: int
    """The log position after these changes."""
    added: PlaceRows
    """Places added after the position asked for and still present, by key."""
    removed: list[int]
    """Keys deleted after the position asked for (they may include keys in ``added``'s past, never its rows)."""


def place_changes(conn: Connection, after: int) -> PlaceChanges | None:
    """What changed after log position ``after``; None when the log no longer reaches back that far."""
    conn.execute("BEGIN")
    try:
        first, last = conn.execute("SELECT MIN(seq), COALESCE(MAX(seq), 0) FROM place_log").fetchone()
        if last <= after:
            return PlaceChanges(after, PlaceRows([], [], [], [], [], []), [])
        if first is None or first > after + 1:
            return None
        removed = [
            int(r[0])
            for r in conn.execute("SELECT n FROM place_log WHERE seq > ? AND op = 'del' ORDER BY seq", (after,))
        ]
        added = _rows(
            conn.execute(
                "SELECT p.n, p.subscriber, p.kind, p.lat, p.lon, p.regions FROM place_log l JOIN places p ON p.n = l.n "
                "WHERE l.seq > ? AND l.op = 'add' ORDER BY p.n",
                (after,),
            )
        )
    finally:
        conn.execute("COMMIT")
    return PlaceChanges(int(last), added, removed)


def count_places(conn: Connection) -> tuple[int, int]:
    """(places, subscribers)."""
    places, subscribers = conn.execute("SELECT COUNT(*), COUNT(DISTINCT subscriber) FROM places").fetchone()
    return int(places), int(subscribers)


# -- shelters ----------------------------------------------------------------------------------------------


def _shelter(row: Sequence[Any]) -> Shelter:
    return Shelter(
        id=str(row[0]),
        source=str(row[1]),
        ref=str(row[2]),
        lat=float(row[3]),
        lon=float(row[4]),
        name=row[5],
        capacity=None if row[6] is None else int(row[6]),
        accessibility=None if row[7] is None else Accessibility(row[7]),
        hours=row[8],
        address=row[9],
        kind=row[10],
        line=int(row[11]),
    )


@dataclass(frozen=True, slots=True)
class ShelterImport:
    revision: int
    source: str
    file: str
    format: str
    imported: int
    replaced: int
    rejected: int
    at: datetime
    actor: str


def replace_shelters(
    conn: Connection,
    source: str,
    shelters: Sequence[Shelter],
    *,
    file: str,
    fmt: str,
    rejected: int,
    at: datetime,
    actor: str,
) -> ShelterImport:
    """Replace every shelter of ``source`` with ``shelters`` and record the import (one transaction)."""
    replaced = conn.execute("DELETE FROM shelters WHERE source = ?", (source,)).rowcount
    conn.executemany(
        f"INSERT INTO shelters ({_SHELTER_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            (
                s.id,
                s.source,
                s.ref,
                s.lat,
                s.lon,
                s.name,
                s.capacity,
                s.accessibility.value if s.accessibility else None,
                s.hours,
                s.address,
                s.kind,
                s.line,
            )
            for s in shelters
        ),
    )
    row = conn.execute(
        "INSERT INTO shelter_imports (source, file, format, imported, replaced, rejected, at, actor) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING revision",
        (source, file, fmt, len(shelters), replaced, rejected, format_time(at), actor),
    ).fetchone()
    return ShelterImport(int(row[0]), source, file, fmt, len(shelters), replaced, rejected, at, actor)


def shelter_revision(conn: Connection) -> int:
    """Grows with every import: a cache of the shelters is current while this is unchanged."""
    return int(conn.execute("SELECT COALESCE(MAX(revision), 0) FROM shelter_imports").fetchone()[0])


def load_shelters(conn: Connection) -> tuple[int, list[Shelter]]:
    """Every shelter, in a stable order, and the revision they reflect, read consistently."""
    conn.execute("BEGIN")
    try:
        revision = shelter_revision(conn)
        shelters = [_shelter(r) for r in conn.execute(f"SELECT {_SHELTER_COLUMNS} FROM shelters ORDER BY n")]
    finally:
        conn.execute("COMMIT")
    return revision, shelters


def list_imports(conn: Connection, limit: int = 100) -> list[ShelterImport]:
    rows = conn.execute(
        "SELECT revision, source, file, format, imported, replaced, rejected, at, actor FROM shelter_imports "
        "ORDER BY revision DESC LIMIT ?",
        (limit,),
    )
    found = []
    for r in rows:
        at = parse_time(r[7])
        assert at is not None
        found.append(ShelterImport(int(r[0]), r[1], r[2], r[3], int(r[4]), int(r[5]), int(r[6]), at, r[8]))
    return found


# -- PostGIS (PostgreSQL stores whose geometry engine is PostGIS) --------------------------------------------


def _raw(conn: Connection) -> Any:
    """The psycopg connection under a PostgreSQL store's portable one (PostGIS SQL is written for it alone)."""
    raw = getattr(conn, "raw", None)
    if raw is None:
        raise ConfigurationError("error.configuration")
    return raw


def nearest_shelters(conn: Connection, lat: float, lon: float, limit: int) -> list[tuple[Shelter, float]]:
    """The ``limit`` shelters nearest to (lat, lon) and their distances in metres, answered by PostGIS."""
    return [(_shelter(row), metres) for row, metres in postgis.nearest_shelters(_raw(conn), lat, lon, limit)]


def shelters_within(
    conn: Connection, west: float, south: float, east: float, north: float, limit: int
) -> list[Shelter]:
    """The shelters in a longitude/latitude box, in import order, answered by PostGIS."""
    return [_shelter(row) for row in postgis.shelters_within(_raw(conn), west, south, east, north, limit)]


def match_places(
    conn: Connection,
    regions: Sequence[str],
    *,
    geometry: Any = None,
    circle: tuple[float, float, float] | None = None,
) -> list[tuple[int, str]]:
    """(key, subscriber) of the places an alert reaches, answered by PostGIS (see
    :func:`sirena.store.postgis.match_places`)."""
    return postgis.match_places(_raw(conn), regions, geometry=geometry, circle=circle)
