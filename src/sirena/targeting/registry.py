"""The places registry: subscribers register points and regions; an alert is matched to the subscribers it reaches.

Places are stored (``sirena.store.targeting``) and mirrored in memory by a :class:`PlaceIndex` that follows the
store's change log, so places registered by another process sharing the database are seen on the next
:meth:`PlaceRegistry.refresh` (every :meth:`PlaceRegistry.match` starts with one).

On a PostgreSQL store whose geometry engine is PostGIS (:mod:`sirena.store.postgis`) the database answers the
matching instead (GiST indexes on the places' points, a GIN index on their regions), under the same rule: no
index is loaded into memory and every node of a cluster sees the same answer at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import secrets
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

import numpy as np
from numpy.typing import NDArray

from sirena.domain.model import Alert
from sirena.errors import NotFound, ValidationFailed
from sirena.ids import new_id
from sirena.messages import Phrase
from sirena.protocol.alert_json import format_time
from sirena.regions import RegionRegistry
from sirena.store import targeting as sql
from sirena.store.postgis import geometry_of
from sirena.targeting.area import AlertArea
from sirena.targeting.closure import RegionClosure
from sirena.targeting.index import CompactionPlan, Match, PlaceColumns, PlaceIndex
from sirena.targeting.place import Place, PlaceKind
from sirena.targeting.resolve import DEFAULT_MARGIN_M, PointResolver
from sirena.targeting.shelter_time import TimeToShelter

__all__ = ["MAX_PLACES_PER_SUBSCRIBER", "PlaceNotFound", "PlaceRegistry", "TooManyPlaces", "new_subscriber_id"]

log = logging.getLogger("sirena.targeting")

MAX_PLACES_PER_SUBSCRIBER = 20
SUBSCRIBER_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9:._-]{7,127}")
"""Subscriber ids: 8 to 128 characters, letters, digits and ``: . _ -``, e.g. ``push:01J…`` or a generated one."""


class PlaceNotFound(NotFound):
    slug = "place-not-found"
    key = "targeting.place_not_found"


class TooManyPlaces(ValidationFailed):
    slug = "too-many-places"
    key = "targeting.too_many_places"


def new_subscriber_id() -> str:
    """A fresh, unguessable subscriber id: whoever holds it can list and add that subscriber's places."""
    return "sub_" + secrets.token_urlsafe(18)


def _utcnow() -> datetime:
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


class PlaceRegistry:
    """Places of subscribers over a store and a region registry; see ``docs/targeting.md``."""

    def __init__(
        self,
        store: object,
        registry: RegionRegistry,
        *,
        time_to_shelter: TimeToShelter | None = None,
        margin_m: float = DEFAULT_MARGIN_M,
        max_per_subscriber: int = MAX_PLACES_PER_SUBSCRIBER,
    ) -> None:
        self.store = store
        self.sql = sql.sql_access(store)
        self.registry = registry
        self.closure = RegionClosure(registry)
        self.resolver = PointResolver(registry, margin_m)
        self.time_to_shelter = time_to_shelter if time_to_shelter is not None else TimeToShelter.builtin(registry)
        self.max_per_subscriber = max_per_subscriber
        self._codes: dict[str, int] = {r.id: i for i, r in enumerate(registry)}
        self._subscriber_codes: dict[str, int] = {}
        self._subscribers: list[str] = []
        self._region_json: dict[str, tuple[int, ...]] = {}
        self._affected_codes: dict[frozenset[str], NDArray[np.int32]] = {}
        self._index: PlaceIndex | None = None
        self._seq = 0
        self._lock = asyncio.Lock()
        self._compaction: asyncio.Task[None] | None = None

    async def close(self) -> None:
        """Stop a compaction in progress (the index is rebuilt on the next use)."""
        task, self._compaction = self._compaction, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    @property
    def compacting(self) -> bool:
        """Whether a new base for the in-memory index is being built."""
        return self._compaction is not None

    async def compaction_done(self) -> None:
        """Wait until a compaction in progress, if any, has been installed."""
        task = self._compaction
        if task is not None:
            await asyncio.shield(task)

    # -- registration --------------------------------------------------------------------------------------

    async def register(
        self,
        subscriber: str | None = None,
        *,
        lat: float | None = None,
        lon: float | None = None,
        region: str | None = None,
        label: str | None = None,
    ) -> Place:
        """Register a point (``lat``/``lon``) or a region for ``subscriber`` (a new subscriber id when None).

        A point is resolved here, once, to the regions it lies in (:class:`PointResolver`)."""
        if subscriber is None:
            subscriber = new_subscriber_id()
        elif not SUBSCRIBER_PATTERN.fullmatch(subscriber):
            raise ValidationFailed("targeting.bad_subscriber", field="subscriber", value=subscriber)
        now = _utcnow()
        if region is not None:
            if lat is not None or lon is not None:
                raise ValidationFailed("targeting.point_or_region", field="region")
            if region not in self.registry:
                raise ValidationFailed("error.unknown_region", field="region", value=region)
            place = Place(
                new_id(now), subscriber, PlaceKind.REGION, (region,), now,
                level=self.registry.get(region).level, label=label,
            )  # fmt: skip
        else:
            if lat is None or lon is None:
                raise ValidationFailed("targeting.point_or_region", field="lat" if lat is None else "lon")
            _check_point(lat, lon)
            resolution = self.resolver.resolve(lat, lon)
            place = Place(
                new_id(now), subscriber, PlaceKind.POINT, resolution.regions, now,
                lat=float(lat), lon=float(lon), level=resolution.level, label=label,
            )  # fmt: skip
        limit = self.max_per_subscriber
        try:
            stored = await self.sql.transaction(lambda conn: sql.insert_place(conn, place, limit))
        except sql.TooManyPlaces:
            raise TooManyPlaces("targeting.too_many_places", field="subscriber", limit=limit) from None
        return stored

    async def get(self, place_id: str) -> Place:
        found = await self.sql.read(lambda conn: sql.get_place(conn, place_id))
        if found is None:
            raise PlaceNotFound("targeting.place_not_found", id=place_id)
        return found

    async def places_of(self, subscriber: str) -> list[Place]:
        return await self.sql.read(lambda conn: sql.list_places(conn, subscriber))

    async def delete(self, place_id: str) -> Place:
        found = await self.sql.transaction(lambda conn: sql.delete_place(conn, place_id))
        if found is None:
            raise PlaceNotFound("targeting.place_not_found", id=place_id)
        return found

    async def delete_subscriber(self, subscriber: str) -> int:
        """Forget a subscriber: every place of theirs; how many there were."""
        return await self.sql.transaction(lambda conn: sql.delete_subscriber(conn, subscriber))

    async def counts(self) -> tuple[int, int]:
        """(places, subscribers) in the store."""
        return await self.sql.read(sql.count_places)

    # -- matching ------------------------------------------------------------------------------------------

    def area(self, alert: Alert) -> AlertArea:
        """The alert's exact reach (pure: no store access)."""
        return AlertArea.of(alert, self.closure)

    def affected_regions(self, alert: Alert) -> frozenset[str]:
        """Region ids reached by membership: the alert's regions, their ancestors and descendants."""
        return self.closure.affected(alert)

    def reaches(self, alert: Alert, place: Place) -> bool:
        """Whether ``alert`` reaches ``place`` (the same rule as :meth:`match`, for one place)."""
        area = self.area(alert)
        if place.is_point and place.lat is not None and place.lon is not None:
            return area.reaches_point(place.lat, place.lon, place.regions)
        return any(area.reaches_region(r) for r in place.regions)

    async def match(self, alert: Alert) -> frozenset[str]:
        """The subscribers with at least one place the alert reaches (statuses are not considered here)."""
        found = await self.match_codes(alert)
        return frozenset(self._subscribers[c] for c in found.subscribers.tolist())

    async def match_places(self, alert: Alert) -> list[Place]:
        """The places the alert reaches, read from the store (for a few; use :meth:`match` at scale)."""
        keys = (await self.match_codes(alert)).keys.tolist()
        return await self.sql.read(lambda conn: sql.places_by_key(conn, keys))

    async def match_codes(self, alert: Alert) -> Match:
        """Place keys and subscriber codes the alert reaches, after bringing the index up to date (or, with
        PostGIS, as the database answers)."""
        if geometry_of(self.store).engine == "postgis":
            return await self._match_in_database(self.area(alert))
        await self.refresh()
        assert self._index is not None
        area = self.area(alert)
        return self._index.match(area, self._codes_of(area.affected))

    async def _match_in_database(self, area: AlertArea) -> Match:
        regions = sorted(area.affected)
        c = area.circle
        circle = None if c is None else (c.lat, c.lon, c.radius_km * 1000.0)
        geometry = area.geometry
        found = await self.sql.read(lambda conn: sql.match_places(conn, regions, geometry=geometry, circle=circle))
        keys = np.fromiter((key for key, _ in found), dtype=np.int64, count=len(found))
        codes = np.fromiter((self._subscriber_code(name) for _, name in found), dtype=np.int32, count=len(found))
        return Match(keys, np.unique(codes))

    def _subscriber_code(self, name: str) -> int:
        code = self._subscriber_codes.get(name)
        if code is None:
            code = self._subscriber_codes[name] = len(self._subscribers)
            self._subscribers.append(name)
        return code

    def subscriber_name(self, code: int) -> str:
        return self._subscribers[code]

    def _codes_of(self, regions: frozenset[str]) -> NDArray[np.int32]:
        found = self._affected_codes.get(regions)
        if found is None:
            codes = [self._codes[r] for r in regions if r in self._codes]
            found = np.array(sorted(codes), dtype=np.int32)
            if len(self._affected_codes) > 4096:
                self._affected_codes.clear()
            self._affected_codes[regions] = found
        return found

    # -- following the store -------------------------------------------------------------------------------

    async def refresh(self) -> None:
        """Bring the in-memory index up to date with the store (a full load the first time); nothing to do when
        the database answers (PostGIS)."""
        if geometry_of(self.store).engine == "postgis":
            return
        async with self._lock:
            if self._index is None:
                await self._reload()
            else:
                after = self._seq
                changes = await self.sql.read(lambda conn: sql.place_changes(conn, after))
                if changes is None:
                    await self._reload()
                elif changes.seq != self._seq:
                    self._index.remove(changes.removed)
                    self._index.add(self._columns(changes.added))
                    self._seq = changes.seq
            index = self._index
            assert index is not None
            if index.wants_compaction() and self._compaction is None:
                plan = index.plan()
                self._compaction = asyncio.create_task(self._compact(index, plan), name="sirena-places-compact")

    async def _compact(self, index: PlaceIndex, plan: CompactionPlan) -> None:
        try:
            compaction = await asyncio.to_thread(plan.build)
            if self._index is index:
                index.install(compaction)
        except Exception:
            log.exception("could not compact the places index; it keeps answering from its deltas")
        finally:
            self._compaction = None

    async def _reload(self) -> None:
        seq, rows = await self.sql.read(sql.load_places)
        columns = self._columns(rows)
        regions = len(self._codes)
        compaction = await asyncio.to_thread(CompactionPlan(columns, (), frozenset(), regions).build)
        self._index = PlaceIndex(compaction, regions)
        self._seq = seq

    def _columns(self, rows: sql.PlaceRows) -> PlaceColumns:
        n = len(rows.keys)
        subs = np.empty(n, dtype=np.int32)
        for i, name in enumerate(rows.subscribers):
            subs[i] = self._subscriber_code(name)
        points = np.fromiter((k == PlaceKind.POINT.value for k in rows.kinds), dtype=np.bool_, count=n)
        lon = np.array([np.nan if v is None else v for v in rows.lon], dtype=np.float64)
        lat = np.array([np.nan if v is None else v for v in rows.lat], dtype=np.float64)
        pair_keys: list[int] = []
        pair_regions: list[int] = []
        for key, text in zip(rows.keys, rows.regions, strict=True):
            for code in self._region_codes(text):
                pair_keys.append(key)
                pair_regions.append(code)
        return PlaceColumns(
            np.array(rows.keys, dtype=np.int64),
            subs,
            points,
            lon.reshape(n),
            lat.reshape(n),
            np.array(pair_keys, dtype=np.int64),
            np.array(pair_regions, dtype=np.int32),
        )

    def _region_codes(self, text: str) -> tuple[int, ...]:
        found = self._region_json.get(text)
        if found is None:
            codes = []
            for region_id in json.loads(text):
                code = self._codes.get(region_id)
                if code is None:  # a region the current set no longer has: kept, reached by no alert
                    code = self._codes[region_id] = len(self._codes)
                codes.append(code)
            found = self._region_json[text] = tuple(codes)
        return found


def _check_point(lat: float, lon: float) -> None:
    errors: list[dict[str, Any]] = []
    if not (isinstance(lat, int | float) and -90.0 <= lat <= 90.0):
        errors.append({"field": "lat", "value": lat, "reason": Phrase("validation.reason.latitude")})
    if not (isinstance(lon, int | float) and -180.0 <= lon <= 180.0):
        errors.append({"field": "lon", "value": lon, "reason": Phrase("validation.reason.longitude")})
    if errors:
        raise ValidationFailed(
            "error.validation_field", field=errors[0]["field"], reason=errors[0]["reason"], errors=errors
        )


def place_json(place: Place, registry: RegionRegistry, table: TimeToShelter, lang: str = "en") -> dict[str, Any]:
    """A place as the API shows it."""
    first = place.regions[0] if place.regions else None
    chain: Mapping[str, str] = {}
    if first is not None and first in registry:
        ids: Iterable[str] = (first, *registry.ancestors(first))
        chain = {registry.get(r).level: r for r in ids}
    return {
        "id": place.id,
        "subscriber": place.subscriber,
        "kind": place.kind.value,
        "lat": place.lat,
        "lon": place.lon,
        "region": place.regions[0] if place.kind is PlaceKind.REGION else None,
        "regions": list(place.regions),
        "resolution": place.level,
        "within": dict(chain),
        "names": [registry.get(r).name(lang) for r in place.regions if r in registry],
        "time_to_shelter_s": table.for_region(first) if first is not None else None,
        "label": place.label,
        "created_at": format_time(place.created_at),
    }
