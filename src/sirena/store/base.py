"""The Store protocol: what every storage backend provides, and the records it returns."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from sirena.domain.lifecycle import Transition
from sirena.domain.model import Alert, AlertState, Event, Status
from sirena.domain.notice import LogEvent, Notice

Step = Callable[[Alert | None], Transition]
"""Computes the next version of an alert from its current one (``None`` when issuing). Runs inside the write
transaction, so it sees the committed state and nothing can change between read and write."""

CommitListener = Callable[[Sequence[LogEvent]], None]
"""Called on the event loop, in sequence order, after each commit with the events it made true."""

REVISION = "webhook_subscriptions"
"""The row of the ``revisions`` table a store reads with each commit of events (see :meth:`Store.revision_at`):
the database moves it with every change to the table of that name, whoever makes it."""


@dataclass(frozen=True, slots=True)
class IdempotencyKey:
    """A client-chosen key (``Idempotency-Key`` header) scoped to the caller, with a hash of the request."""

    scope: str
    key: str
    request_hash: str


@dataclass(frozen=True, slots=True)
class WriteResult:
    event: Event
    replayed: bool = False
    """True when an earlier request with the same idempotency key already made this change."""
    notices: list[Notice] = field(default_factory=list)
    """Notices the write's hook appended to the log in the same transaction (the all-clear of an ended alert);
    committed and handed to the commit listeners together with ``event``."""


@dataclass(frozen=True, slots=True)
class Appended:
    """What a transaction function (``store.transaction``) returns when it appended notices to the event log:
    the store hands ``events`` to the commit listeners after the commit; the caller reads ``value``."""

    events: tuple[LogEvent, ...]
    value: Any = None


WriteHook = Callable[[Any, WriteResult], None]
"""Runs inside the write transaction, after the alert is written, with the backend's connection (for the audit
entry and approval that belong to the same change). Raising undoes the whole write. Not called on replays."""


@dataclass(frozen=True, slots=True)
class TokenRecord:
    id: int
    name: str
    created_at: datetime
    revoked_at: datetime | None
    owner: str | None = None


@dataclass(frozen=True, slots=True)
class AlertQuery:
    states: frozenset[AlertState] | None = None
    regions: frozenset[str] | None = None
    """Alerts touching any of these regions (callers expand descendants and ancestors)."""
    statuses: frozenset[Status] | None = None
    since: datetime | None = None
    """Alerts updated at or after this time."""
    limit: int = 1000


@dataclass(frozen=True, slots=True)
class Snapshot:
    seq: int
    alerts: tuple[Alert, ...]


class Store(Protocol):
    """Durable storage. Writes go through one writer; events are handed to listeners only after commit."""

    async def open(self) -> None: ...
    async def close(self) -> None: ...
    def add_commit_listener(self, listener: CommitListener) -> None: ...

    async def write(
        self,
        alert_id: str,
        step: Step,
        *,
        idempotency: IdempotencyKey | None = None,
        then: WriteHook | None = None,
        new: bool = False,
    ) -> WriteResult:
        """Run ``step`` on the alert as committed and write what it returns. ``new``: ``alert_id`` was made for
        this write (issuing), so there is no current alert to read and the step gets ``None``; an existing row
        with that id makes the write fail."""
        ...

    async def get_alert(self, alert_id: str) -> Alert | None: ...
    async def find_alerts(self, query: AlertQuery) -> list[Alert]: ...
    async def snapshot(self) -> Snapshot: ...
    async def events_after(self, seq: int, limit: int = 1000) -> list[LogEvent]: ...
    async def last_seq(self) -> int: ...
    def revision_at(self, seq: int) -> int | None:
        """The :data:`REVISION` counter as the transaction that wrote event ``seq`` left it (it covers every change
        committed before that event), when this store wrote that event recently; None when it does not know (an
        event of another process, an old one, or a backend that does not keep them)."""
        ...

    async def create_token(self, name: str, token_hash: str, owner: str | None = None) -> TokenRecord: ...
    async def find_token(self, token_hash: str) -> TokenRecord | None: ...
    async def list_tokens(self) -> list[TokenRecord]: ...
    async def revoke_token(self, token_id: int) -> bool: ...

    async def get_meta(self, key: str) -> str | None: ...
    async def set_meta(self, key: str, value: str) -> None: ...
    async def ping(self) -> None: ...
