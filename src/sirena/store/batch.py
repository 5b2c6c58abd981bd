"""Many new alerts in one transaction: the SQL of :meth:`sirena.service.AlertService.issue_many`.

The rows are those a single write makes (the alert, its regions, its first version, an event with the next
sequence numbers, in order), written with one statement per table for the whole batch. Run inside the store's
write transaction (``store.transaction``); the returned :class:`~sirena.store.base.Appended` hands the events
to the commit listeners after the commit, and carries one :class:`~sirena.store.base.WriteResult` per alert.
"""

from __future__ import annotations

from collections.abc import Sequence

from sirena.domain.model import Alert, Event, EventType
from sirena.protocol.alert_json import alert_to_dict, dumps
from sirena.store.base import Appended, WriteResult
from sirena.store.sql import Connection


def alert_row(alert: Alert) -> tuple[tuple[object, ...], str, str]:
    """An alert's row in ``alerts`` (id, version, state, status, kind, source, started_at, updated_at, ended_at,
    body), with its JSON body, encoded once for the row and its event, and its update time as stored."""
    fields = alert_to_dict(alert)
    body = dumps(fields)
    updated: str = fields["updated_at"]
    row = (
        alert.id,
        alert.version,
        fields["state"],
        fields["status"],
        fields["kind"],
        fields["source"],
        fields["started_at"],
        updated,
        fields["ended_at"],
        body,
    )
    return row, body, updated


def insert_new(conn: Connection, transitions: Sequence[tuple[Alert, EventType]]) -> Appended:
    """Write alerts that do not exist yet (an existing id fails the whole batch)."""
    row = conn.execute("SELECT COALESCE(MAX(seq), 0) FROM events").fetchone()
    seq = int(row[0])
    alerts: list[tuple[object, ...]] = []
    regions: list[tuple[str, str, int]] = []
    events: list[tuple[object, ...]] = []
    versions: list[tuple[str, int, int]] = []
    results: list[WriteResult] = []
    for alert, event_type in transitions:
        seq += 1
        row, body, updated = alert_row(alert)
        alerts.append(row)
        regions.extend((alert.id, r, 0) for r in alert.regions)
        regions.extend((alert.id, r, 1) for r in alert.partial_regions if r not in alert.regions)
        events.append((seq, event_type.value, alert.id, updated, body))
        versions.append((alert.id, alert.version, seq))
        results.append(WriteResult(Event(seq=seq, type=event_type, alert=alert, at=alert.updated_at)))
    conn.executemany(
        "INSERT INTO alerts (id, version, state, status, kind, source, started_at, updated_at, ended_at, body) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        alerts,
    )
    conn.executemany("INSERT INTO alert_regions (alert_id, region_id, partial) VALUES (?, ?, ?)", regions)
    conn.executemany("INSERT INTO events (seq, type, alert_id, at, body) VALUES (?, ?, ?, ?, ?)", events)
    conn.executemany("INSERT INTO alert_versions (alert_id, version, event_seq) VALUES (?, ?, ?)", versions)
    return Appended(tuple(r.event for r in results), results)
