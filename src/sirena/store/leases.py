"""SQL for work leases: a named piece of work (a webhook subscription's queue, the Web Push sender, a CAP feed) is
done by the one node that holds its lease. A lease runs out ``ttl`` seconds after it was last taken or renewed;
then any node may take it, which is how work moves on when a node dies.

Functions of a portable connection (``sirena.store.sql.Connection``), run through ``store.transaction``: writes
are serialised (one writer on SQLite, the cluster-wide write lock on PostgreSQL), so taking a lease is a plain
read-and-write. Times are Unix seconds from the nodes' clocks (keep them in sync, as for any lease).
"""

from __future__ import annotations

from sirena.store.sql import Connection

__all__ = ["acquire", "holders", "release"]


def acquire(conn: Connection, name: str, owner: str, now: float, ttl: float) -> bool:
    """Take or renew lease ``name`` for ``owner`` until ``now + ttl``; False while someone else holds it."""
    conn.execute(
        "INSERT INTO leases (name, owner, until, taken) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, until = excluded.until, "
        "taken = CASE WHEN leases.owner = excluded.owner THEN leases.taken ELSE excluded.taken END "
        "WHERE leases.owner = excluded.owner OR leases.until < ?",
        (name, owner, now + ttl, now, now),
    )
    row = conn.execute("SELECT owner FROM leases WHERE name = ?", (name,)).fetchone()
    return row is not None and row[0] == owner


def release(conn: Connection, name: str, owner: str) -> bool:
    """Give lease ``name`` up (only its owner can); whether it was held."""
    return conn.execute("DELETE FROM leases WHERE name = ? AND owner = ?", (name, owner)).rowcount > 0


def holders(conn: Connection, prefix: str = "") -> list[tuple[str, str, float]]:
    """``(name, owner, until)`` of the leases whose name starts with ``prefix``, by name."""
    rows = conn.execute(
        "SELECT name, owner, until FROM leases WHERE substr(name, 1, ?) = ? ORDER BY name", (len(prefix), prefix)
    ).fetchall()
    return [(str(r[0]), str(r[1]), float(r[2])) for r in rows]
