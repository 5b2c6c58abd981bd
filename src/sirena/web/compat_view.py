"""What the compatible APIs show, read once per change and shared by every request until the next one.

Each request costs one cheap read of the event log's last sequence number; only when it moved are the active
``actual`` alerts read again (in one transaction) and the region states derived. Rendered bodies are kept with
the snapshot they came from, so thousands of devices polling the same URL share one encoding.

``Last-Modified`` is the time of the last change to an ``actual`` alert, in whole seconds. HTTP dates cannot
tell two changes within one second apart, so during the second of the latest change a response is labelled
one second earlier and ``If-Modified-Since`` never answers 304: a client that polled in that second fetches
again afterwards and cannot miss a second change made in the same second.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import Request
from starlette.responses import Response

from sirena import domain
from sirena.domain.model import Alert, Kind
from sirena.domain.state import RegionState
from sirena.protocol.compat import Locations, ukrainealarm
from sirena.runtime import Runtime
from sirena.store.compat import CompatStore
from sirena.web.deps import runtime

MEDIA_TYPE = "application/json"


def encode(value: Any) -> bytes:
    """Compact JSON, non-ASCII text kept as is."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


@dataclass(slots=True)
class Snapshot:
    """The compatible APIs' view as of event ``seq``. Immutable apart from its caches of derived output."""

    seq: int
    alerts: tuple[Alert, ...]
    """Active ``actual`` alerts."""
    issued: Mapping[str, int]
    targets: Mapping[str, list[Alert]]
    air_states: Mapping[str, RegionState]
    """Derived states of air-raid alerts only (the IoT strings)."""
    action_index: int
    """Sequence number of the last change to an actual alert (0 when there was none)."""
    changed_at: datetime
    """When that change happened (the view's creation time when there was none)."""
    bodies: dict[tuple[str, ...], bytes] = field(default_factory=dict)
    last_updates: dict[str, str | None] = field(default_factory=dict)

    def body(self, key: tuple[str, ...], build: Callable[[], Any]) -> bytes:
        """The JSON encoding of ``build()``, computed once per snapshot and ``key``."""
        found = self.bodies.get(key)
        if found is None:
            found = self.bodies[key] = encode(build())
        return found


class CompatView:
    """The shared, lazily refreshed view over one runtime."""

    def __init__(self, rt: Runtime) -> None:
        self.runtime = rt
        self.store = CompatStore(rt.store)
        self.locations = Locations(rt.registry)
        self.created_at = rt.service.clock()
        self._lock = asyncio.Lock()
        self._current: Snapshot | None = None
        self._change: tuple[int, datetime] | None = None
        self.static: dict[tuple[str, ...], bytes] = {}

    def now(self) -> datetime:
        """The alert service's clock: the time alerts are stamped with."""
        return self.runtime.service.clock()

    async def current(self) -> Snapshot:
        seq = await self.runtime.store.last_seq()
        snap = self._current
        if snap is not None and snap.seq == seq:
            return snap
        async with self._lock:
            snap = self._current
            if snap is not None and snap.seq >= seq:
                return snap
            rows = await self.store.load_view(self._change[0] if self._change else 0)
            if rows.last_change is not None:
                self._change = rows.last_change
            registry = self.runtime.registry
            snap = Snapshot(
                seq=rows.seq,
                alerts=rows.alerts,
                issued=rows.issued,
                targets=ukrainealarm.targets(rows.alerts),
                air_states=domain.derive((a for a in rows.alerts if a.kind is Kind.AIR_RAID), registry),
                action_index=self._change[0] if self._change else 0,
                changed_at=self._change[1] if self._change else self.created_at,
            )
            self._current = snap
            return snap

    async def last_update(self, snap: Snapshot, region_id: str) -> str | None:
        """When an actual alert covering the region last changed (for a calm region's ``lastUpdate``)."""
        if region_id not in snap.last_updates:
            covering = self.locations.covering(region_id)
            snap.last_updates[region_id] = await self.store.last_change_covering(covering)
        return snap.last_updates[region_id]

    def static_body(self, key: tuple[str, ...], build: Callable[[], Any]) -> bytes:
        """Like :meth:`Snapshot.body` for output that depends only on the regions."""
        found = self.static.get(key)
        if found is None:
            found = self.static[key] = encode(build())
        return found


def view(request: Request) -> CompatView:
    """The app's view, made on first use."""
    found: CompatView | None = getattr(request.app.state, "compat_view", None)
    rt = runtime(request)
    if found is None or found.runtime is not rt:
        found = CompatView(rt)
        request.app.state.compat_view = found
    return found


def last_modified(changed_at: datetime, now: datetime) -> tuple[datetime, bool]:
    """The ``Last-Modified`` label for a change at ``changed_at`` and whether a 304 may be answered now."""
    second = changed_at.astimezone(UTC).replace(microsecond=0)
    if now < second + timedelta(seconds=1):
        return second - timedelta(seconds=1), False
    return second, True


def if_modified_since(request: Request) -> datetime | None:
    """The request's ``If-Modified-Since`` as a time; absent, empty or unparsable counts as not sent."""
    raw = (request.headers.get("if-modified-since") or "").strip()
    if not raw:
        return None
    try:
        parsed = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError):
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def validators(request: Request, changed_at: datetime) -> tuple[dict[str, str], bool]:
    """The ``Last-Modified`` header for a response, and whether the client's copy is current (answer 304).
    "Now" is the alert service's clock, the one alert times come from."""
    label, settled = last_modified(changed_at, runtime(request).service.clock())
    headers = {"Last-Modified": email.utils.format_datetime(label, usegmt=True)}
    since = if_modified_since(request)
    return headers, settled and since is not None and since >= label


def respond(headers: dict[str, str], current: bool, body: Callable[[], bytes]) -> Response:
    """304 with no body when ``current``, else 200 with ``body()`` as ``application/json``."""
    if current:
        return Response(status_code=304, headers=headers)
    return Response(content=body(), media_type=MEDIA_TYPE, headers=headers)


def conditional(request: Request, changed_at: datetime, body: Callable[[], bytes]) -> Response:
    """200 with ``Last-Modified``, or 304 with no body when ``If-Modified-Since`` shows the copy is current."""
    headers, current = validators(request, changed_at)
    return respond(headers, current, body)
