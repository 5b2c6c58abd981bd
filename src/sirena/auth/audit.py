"""The tamper-evident audit log.

Every action appends an entry (``seq``, time, actor, action, target, details) whose hash covers its own fields,
its position and the previous entry's hash, so editing, deleting or reordering any entry breaks the chain from
that entry on. Alert writes append their entry inside the transaction that makes the change. The last
``seq`` and hash are also kept as the log's head, which catches deletion of the newest entries; publishing the
head elsewhere (``sirena audit verify`` prints it) protects against a rewrite of the whole chain.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sirena import messages
from sirena.auth.principal import now
from sirena.auth.storage import sql_store
from sirena.domain.model import Alert
from sirena.settings import Settings
from sirena.store import auth as sql
from sirena.store.auth import GENESIS, AuditEntry
from sirena.store.base import WriteHook, WriteResult
from sirena.store.sql import Connection


class Recorder:
    """The write context an :class:`~sirena.service.AlertService` write runs with: an optional guard that may
    refuse the change, and an audit entry appended in the same transaction, after any ``also`` hook (an approval)."""

    def __init__(
        self,
        actor: str,
        action: str,
        *,
        guard: Callable[[Alert | None, Alert], None] | None = None,
        details: Mapping[str, Any] | None = None,
        also: WriteHook | None = None,
    ) -> None:
        self.actor = actor
        self.action = action
        self.guard = guard
        self.details = dict(details or {})
        self.also = also

    def check(self, current: Alert | None, proposed: Alert) -> None:
        if self.guard is not None:
            self.guard(current, proposed)

    def record(self, conn: Any, result: WriteResult) -> None:
        alert = result.event.alert
        details = {
            "seq": result.event.seq,
            "event": result.event.type.value,
            "version": alert.version,
            "status": alert.status.value,
            "kind": alert.kind.value,
            "regions": list(alert.touched_regions),
            **self.details,
        }
        if self.also is not None:
            self.also(conn, result)
        sql.append_audit(conn, now(), self.actor, self.action, alert.id, details)


async def record(store: object, actor: str, action: str, target: str | None, details: Mapping[str, Any]) -> AuditEntry:
    """Append one entry on its own (for actions that change nothing else, such as a refused request)."""
    when = now()
    return await sql_store(store).transaction(
        lambda conn: sql.append_audit(conn, when, actor, action, target, dict(details))
    )


async def record_settings(store: object, settings: Settings) -> AuditEntry | None:
    """Record the settings a process starts with when they differ from the last recorded ones (secrets
    masked), so every change of configuration is in the log."""
    values = settings.masked()
    when = now()

    def run(conn: Connection) -> AuditEntry | None:
        if sql.last_audit_details(conn, "settings.change") == sql.canonical(values):
            return None
        return sql.append_audit(conn, when, "local", "settings.change", None, values)

    return await sql_store(store).transaction(run)


async def entries(store: object, *, after: int = 0, limit: int = 100, action: str | None = None) -> list[AuditEntry]:
    return await sql_store(store).read(lambda conn: sql.audit_entries(conn, after, limit, action))


# -- verification ----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Verdict:
    ok: bool
    entries: int
    head: str | None
    """``seq:hash`` of the last intact entry."""
    bad_seq: int | None = None
    """The first entry that is missing, altered or out of place."""
    problem: str | None = None
    """Message key explaining what is wrong."""
    data: dict[str, Any] = field(default_factory=dict)

    def explain(self, lang: str = "en") -> str:
        if self.ok:
            return messages.t("audit.verify.ok", lang, entries=self.entries, head=self.head or "-")
        return messages.t(self.problem or "audit.verify.bad", lang, **self.data)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "entries": self.entries,
            "head": self.head,
            "bad_entry": self.bad_seq,
            "detail": self.explain(),
        }


def check_chain(
    rows: Iterable[AuditEntry], head: tuple[int, str] | None, anchor: tuple[int, str] | None = None
) -> Verdict:
    """Walk the entries in storage order and report the first one that breaks the chain."""
    expected, prev, count = 1, GENESIS, 0
    last: AuditEntry | None = None

    def bad(seq: int, key: str, **data: Any) -> Verdict:
        return Verdict(False, count, f"{last.seq}:{last.hash}" if last else None, seq, key, {"seq": seq, **data})

    for entry in rows:
        if entry.seq != expected:
            return bad(expected, "audit.verify.missing", found=entry.seq)
        digest = sql.entry_hash(
            entry.seq, entry.at, entry.actor, entry.action, entry.target, entry.details, entry.prev_hash
        )
        if digest != entry.hash:
            return bad(entry.seq, "audit.verify.altered")
        if entry.prev_hash != prev:
            return bad(entry.seq, "audit.verify.unlinked", previous=entry.seq - 1)
        if anchor is not None and anchor[0] == entry.seq and anchor[1] != entry.hash:
            return bad(entry.seq, "audit.verify.anchor")
        prev, expected, count, last = entry.hash, expected + 1, count + 1, entry
    if anchor is not None and anchor[0] > count:
        return bad(anchor[0], "audit.verify.missing", found="-")
    if head is not None and (last is None or (head[0], head[1]) != (last.seq, last.hash)):
        return bad(count + 1, "audit.verify.truncated", last=count, head=head[0])
    if head is None and last is not None:
        return bad(1, "audit.verify.headless")
    return Verdict(True, count, f"{last.seq}:{last.hash}" if last else None)


def _verify(conn: Connection, anchor: tuple[int, str] | None) -> Verdict:
    conn.execute("BEGIN")
    try:
        return check_chain(sql.iter_audit(conn), sql.audit_head(conn), anchor)
    finally:
        conn.execute("COMMIT")


async def verify(store: object, anchor: tuple[int, str] | None = None) -> Verdict:
    """Check the whole chain (and, with ``anchor`` = ``(seq, hash)`` saved earlier, that it was not rewritten)."""
    return await sql_store(store).read(lambda conn: _verify(conn, anchor))
