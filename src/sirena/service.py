"""Alert operations over a store and a region registry: the library API that HTTP and CLI adapt.

The service validates and resolves targets (region ids, polygons, circles) to regions, then hands a pure
lifecycle step to the store, which runs it inside the write transaction.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from sirena import domain, gc_hold
from sirena.auth.audit import Recorder
from sirena.auth.storage import sql_store
from sirena.domain.lifecycle import Resolved, Transition
from sirena.domain.model import Alert, AlertChanges, AlertDraft, AlertState, Circle, Status, Target
from sirena.domain.state import RegionState
from sirena.domain.texts import retraction_instruction
from sirena.errors import AlertNotFound, UnknownRegion, ValidationFailed
from sirena.ids import new_id, new_ids
from sirena.messages import Phrase
from sirena.regions import RegionRegistry
from sirena.store.base import AlertQuery, IdempotencyKey, Store, WriteHook, WriteResult
from sirena.targeting.shelter_time import TimeToShelter

Clock = Callable[[], datetime]
LOCAL = "local"
"""The actor of writes made without an identity: a process with direct database access (CLI, demo feed)."""


class WriteContext(Protocol):
    """Who is acting. ``check`` runs inside the write transaction on the alert as it is and as it would be
    (raise to refuse); ``record`` runs in the same transaction after the write (the audit entry)."""

    def check(self, current: Alert | None, proposed: Alert) -> None: ...
    def record(self, conn: Any, result: WriteResult) -> None: ...


def utcnow() -> datetime:
    """Now, in UTC, to the millisecond (the precision every wire format and the store keep)."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


class AlertService:
    def __init__(
        self,
        store: Store,
        registry: RegionRegistry,
        clock: Clock = utcnow,
        *,
        time_to_shelter: TimeToShelter | None = None,
    ) -> None:
        self.store = store
        self.registry = registry
        self.clock = clock
        self.time_to_shelter = time_to_shelter if time_to_shelter is not None else TimeToShelter.builtin(registry)
        self.end_hook: WriteHook | None = None
        """Runs in the transaction of every end made without a write context of its own (replays, the demo feed,
        CAP ingest): the all-clear, when ``SIRENA_ALL_CLEAR_ON_END`` is on."""

    # -- targets ------------------------------------------------------------------------------------------

    def resolve(self, target: Target) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """The regions an alert target covers fully, and those it covers in part."""
        if target.regions:
            seen: dict[str, None] = {}
            for region_id in target.regions:
                if region_id not in self.registry:
                    raise UnknownRegion("error.unknown_region", field="regions", value=region_id)
                seen[region_id] = None
            return tuple(seen), ()
        geometry = self.geometry(target)
        covered, partial = self.registry.regions_for_geometry(geometry)
        if not covered and not partial:
            raise ValidationFailed("error.area_outside_regions", field="area" if target.area else "circle")
        return tuple(covered), tuple(partial)

    def geometry(self, target: Target) -> BaseGeometry:
        if target.area is not None:
            return area_geometry(target.area)
        if target.circle is not None:
            return circle_geometry(target.circle)
        raise ValidationFailed("error.target_missing", field="regions")

    # -- lifecycle ----------------------------------------------------------------------------------------

    async def issue(
        self, draft: AlertDraft, *, idempotency: IdempotencyKey | None = None, ctx: WriteContext | None = None
    ) -> WriteResult:
        regions, partial = self.resolve(draft.target)
        shelter_s = draft.time_to_shelter_s
        if shelter_s is None:  # the shortest time anywhere in the area, from the region table
            shelter_s = self.time_to_shelter.for_regions(regions + partial)
        resolved = (regions, partial, shelter_s)
        now = self.clock()
        alert_id = new_id(now)
        ctx = ctx or Recorder(draft.issuer, "alert.issue")
        return await self._write(
            alert_id,
            ctx,
            lambda _current: domain.issue(draft, alert_id=alert_id, now=now, resolved=resolved),
            idempotency,
            new=True,
        )

    async def issue_many(self, drafts: Sequence[AlertDraft], *, actor: str = LOCAL) -> list[WriteResult]:
        """Issue many new alerts in one durable transaction, for bulk ingest (a feed naming hundreds of regions at
        once): targets are resolved as by :meth:`issue`, the events get consecutive sequence numbers in order,
        and the audit log gets one entry for the batch naming every alert. All or nothing."""
        gc_hold.hold()  # a thousand alerts are tens of thousands of short-lived objects: collect once, after
        try:
            return await self._issue_many(drafts, actor)
        finally:
            gc_hold.release()

    async def _issue_many(self, drafts: Sequence[AlertDraft], actor: str) -> list[WriteResult]:
        from sirena.store import auth as audit_sql
        from sirena.store import batch

        now = self.clock()
        transitions: list[Transition] = []
        known: dict[tuple[str, ...], Resolved] = {}  # region ids already checked in this batch, and their times
        for draft, alert_id in zip(drafts, new_ids(now, len(drafts)), strict=True):
            named = draft.target.regions  # when named, they alone decide the target's regions
            resolved = known.get(named) if named else None
            if resolved is None:
                regions, partial = self.resolve(draft.target)
                resolved = (regions, partial, self.time_to_shelter.for_regions(regions + partial))
                if named:
                    known[named] = resolved
            if draft.time_to_shelter_s is not None:
                resolved = (resolved[0], resolved[1], draft.time_to_shelter_s)
            transitions.append(domain.issue(draft, alert_id=alert_id, now=now, resolved=resolved))

        def run(conn: Any) -> Any:
            appended = batch.insert_new(conn, transitions)
            made: list[WriteResult] = appended.value
            details = {"count": len(made), "alerts": [[r.event.alert.id, r.event.seq] for r in made]}
            audit_sql.append_audit(conn, now, actor, "alert.issue_many", None, details)
            return appended

        if not transitions:
            return []
        appended = await sql_store(self.store).transaction(run)
        results: list[WriteResult] = appended.value
        return results

    async def update(self, alert_id: str, changes: AlertChanges, *, ctx: WriteContext | None = None) -> WriteResult:
        if changes.target is not None:
            regions, partial = self.resolve(changes.target)
            changes = dataclasses.replace(changes, regions=regions, partial_regions=partial)
        now = self.clock()
        ctx = ctx or Recorder(LOCAL, "alert.update")
        return await self._write(
            alert_id, ctx, lambda current: domain.update(self._found(alert_id, current), changes, now=now)
        )

    async def end(self, alert_id: str, *, ctx: WriteContext | None = None) -> WriteResult:
        now = self.clock()
        ctx = ctx or Recorder(LOCAL, "alert.end", also=self.end_hook)
        return await self._write(alert_id, ctx, lambda current: domain.end(self._found(alert_id, current), now=now))

    async def cancel(self, alert_id: str, *, reason: str | None = None, ctx: WriteContext | None = None) -> WriteResult:
        """Retract an alert issued in error; it carries the prepared "issued in error" text in every language."""
        now = self.clock()
        texts = retraction_instruction(reason)
        ctx = ctx or Recorder(LOCAL, "alert.cancel", details={"reason": reason} if reason else None)

        def step(current: Alert | None) -> Transition:
            return domain.cancel(dataclasses.replace(self._found(alert_id, current), instruction=texts), now=now)

        return await self._write(alert_id, ctx, step)

    async def _write(
        self,
        alert_id: str,
        ctx: WriteContext,
        make: Callable[[Alert | None], Transition],
        idempotency: IdempotencyKey | None = None,
        *,
        new: bool = False,
    ) -> WriteResult:
        def step(current: Alert | None) -> Transition:
            transition = make(current)
            ctx.check(current, transition.alert)
            return transition

        return await self.store.write(alert_id, step, idempotency=idempotency, then=ctx.record, new=new)

    @staticmethod
    def _found(alert_id: str, current: Alert | None) -> Alert:
        if current is None:
            raise AlertNotFound("error.alert_not_found", alert_id=alert_id)
        return current

    # -- reading ------------------------------------------------------------------------------------------

    async def get(self, alert_id: str) -> Alert:
        return self._found(alert_id, await self.store.get_alert(alert_id))

    async def find(
        self,
        *,
        states: frozenset[AlertState] | None = None,
        region: str | None = None,
        statuses: frozenset[Status] | None = None,
        since: datetime | None = None,
        limit: int = 1000,
    ) -> list[Alert]:
        regions = None
        if region is not None:
            if region not in self.registry:
                raise UnknownRegion("error.unknown_region", field="region", value=region)
            regions = frozenset({region, *self.registry.descendants(region), *self.registry.ancestors(region)})
        return await self.store.find_alerts(
            AlertQuery(states=states, regions=regions, statuses=statuses, since=since, limit=limit)
        )

    async def active(self, statuses: frozenset[Status] = frozenset({Status.ACTUAL})) -> list[Alert]:
        return await self.find(states=frozenset({AlertState.ACTIVE}), statuses=statuses, limit=100_000)

    async def region_states(self, statuses: frozenset[Status] = frozenset({Status.ACTUAL})) -> dict[str, RegionState]:
        return domain.derive(await self.active(statuses), self.registry)


def area_geometry(area: Mapping[str, Any]) -> BaseGeometry:
    """A GeoJSON Polygon or MultiPolygon as a valid shapely geometry, or :class:`ValidationFailed`."""
    if area.get("type") not in {"Polygon", "MultiPolygon"}:
        raise ValidationFailed("error.area_type", field="area", value=str(area.get("type")))
    try:
        geometry = shape(area)
    except (ValueError, TypeError, KeyError, IndexError, AttributeError, shapely.errors.ShapelyError):
        raise ValidationFailed(
            "error.area_invalid", field="area", reason=Phrase("validation.area.not_polygon")
        ) from None
    if geometry.is_empty:
        raise ValidationFailed("error.area_invalid", field="area", reason=Phrase("validation.area.empty"))
    minx, miny, maxx, maxy = geometry.bounds
    if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        raise ValidationFailed("error.area_invalid", field="area", reason=Phrase("validation.area.out_of_range"))
    if not geometry.is_valid:
        geometry = shapely.make_valid(geometry)
    return geometry


def circle_geometry(circle: Circle, points: int = 128) -> BaseGeometry:
    """A polygon following a circle on the sphere closely enough for region resolution."""
    if not (-90 <= circle.lat <= 90 and -180 <= circle.lon <= 180) or not (0 < circle.radius_km <= 2000):
        raise ValidationFailed("error.circle_invalid", field="circle")
    earth_km = 6371.0088
    lat0, lon0 = math.radians(circle.lat), math.radians(circle.lon)
    angular = circle.radius_km / earth_km
    ring = []
    for i in range(points):
        bearing = 2 * math.pi * i / points
        lat = math.asin(math.sin(lat0) * math.cos(angular) + math.cos(lat0) * math.sin(angular) * math.cos(bearing))
        lon = lon0 + math.atan2(
            math.sin(bearing) * math.sin(angular) * math.cos(lat0),
            math.cos(angular) - math.sin(lat0) * math.sin(lat),
        )
        ring.append((math.degrees(lon), math.degrees(lat)))
    return shapely.Polygon(ring)
