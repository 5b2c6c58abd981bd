"""What a store remembers of its own recent commits of events: the ``revisions`` counter each one read just before
its ``COMMIT`` (see :meth:`sirena.store.base.Store.revision_at`).

Both stores serialise writes (one writer thread per process, and SQLite's write lock or PostgreSQL's advisory
lock across processes), so the counter a commit reads covers every change committed before it, and commits come
in sequence order.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Sequence

from sirena.domain.notice import LogEvent

KEPT = 4096
"""Commits remembered, at least (between this and twice as many)."""


class CommitRevisions:
    """``(first seq, last seq, revision)`` of the recent commits of events, in commit order. Added to by the writer
    thread, read from the event loop."""

    __slots__ = ("_firsts", "_lasts", "_lock", "_revs")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._firsts: list[int] = []
        self._lasts: list[int] = []
        self._revs: list[int] = []

    def record(self, events: Sequence[LogEvent], rev: int) -> None:
        """A commit that wrote ``events`` (at least one) read ``rev``."""
        if len(events) == 1:
            self.add(events[0].seq, events[0].seq, rev)
        else:
            self.add(min(e.seq for e in events), max(e.seq for e in events), rev)

    def add(self, first: int, last: int, rev: int) -> None:
        with self._lock:
            if self._lasts and first <= self._lasts[-1]:  # the log started over (a database replaced): forget
                self._firsts.clear()
                self._lasts.clear()
                self._revs.clear()
            self._firsts.append(first)
            self._lasts.append(last)
            self._revs.append(rev)
            if len(self._lasts) >= 2 * KEPT:
                del self._firsts[:KEPT], self._lasts[:KEPT], self._revs[:KEPT]

    def at(self, seq: int) -> int | None:
        """The revision of the commit that wrote event ``seq``; None when it is not one of those remembered."""
        with self._lock:
            i = bisect.bisect_left(self._lasts, seq)
            if i == len(self._lasts) or self._firsts[i] > seq:
                return None
            return self._revs[i]
