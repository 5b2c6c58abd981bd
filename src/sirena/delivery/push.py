"""Web Push (RFC 8030) with VAPID (RFC 8292) and payload encryption (RFC 8291, ``aes128gcm``).

The VAPID key pair is made on first start and kept in the store, so browser subscriptions survive restarts.
Each committed event is sent, encrypted for each matching subscription, in event order; the push service's
``404``/``410`` removes a subscription; other failures are retried a few times in the background and then
counted (``sirena_push_failures_total``). The event-log cursor (``delivery_cursors.push``) makes a restart send
what was not yet sent. Needs the ``push`` extra (``pywebpush``).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import urlsplit

import httpx

from sirena import __version__
from sirena.delivery import address, nearby, notification
from sirena.delivery.backoff import Backoff, wait_signal
from sirena.delivery.errors import MissingExtra, PushSubscriptionNotFound, UnsafeTarget
from sirena.delivery.filters import CompiledFilter, SubscriptionFilter
from sirena.delivery.metrics import DeliveryMetrics
from sirena.domain.model import Alert, Status
from sirena.domain.notice import LogEvent, Notice
from sirena.errors import ValidationFailed
from sirena.ids import new_id
from sirena.store import Store
from sirena.store import delivery as sql
from sirena.store.delivery import PushRecord, SQLRunner
from sirena.targeting import AlertArea, PointResolver, RegionClosure

if TYPE_CHECKING:
    from sirena.regions import RegionRegistry
    from sirena.settings import Settings

log = logging.getLogger("sirena.delivery")

CURSOR = "push"
KEY_META = "push.vapid_private_key"
GONE = {404, 410}
RETRIABLE = {408, 425, 429, 500, 502, 503, 504}
BATCH = 200
IDLE_PERSIST_S = 10.0


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _require() -> None:
    try:
        import cryptography  # noqa: F401
        import pywebpush  # noqa: F401
    except ImportError:
        raise MissingExtra("error.missing_extra", channel="Web Push", extra="push") from None


def new_private_key() -> str:
    """A fresh P-256 VAPID key, as PKCS#8 PEM."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def check_keys(p256dh: str, auth: str) -> None:
    """A browser's ``keys``: a P-256 point and a 16-byte secret, base64url; else :class:`ValidationFailed`."""
    from cryptography.hazmat.primitives.asymmetric import ec

    try:
        point = unb64url(p256dh)
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
    except (ValueError, binascii.Error):
        raise ValidationFailed("error.push_key_invalid", field="subscription.keys.p256dh") from None
    try:
        secret = unb64url(auth)
    except (ValueError, binascii.Error):
        secret = b""
    if len(secret) != 16:
        raise ValidationFailed("error.push_key_invalid", field="subscription.keys.auth")


@dataclass(frozen=True, slots=True)
class Place:
    lat: float
    lon: float


class WebPush:
    def __init__(
        self,
        store: Store,
        sqlrunner: SQLRunner,
        settings: Settings,
        registry: RegionRegistry,
        metrics: DeliveryMetrics,
    ) -> None:
        self.store = store
        self.sql = sqlrunner
        self.settings = settings
        self.registry = registry
        self.metrics = metrics
        self.public_key = ""
        self._vapid: Any = None
        self._signed: dict[str, tuple[float, dict[str, str]]] = {}
        self._signal = asyncio.Event()
        self._client: httpx.AsyncClient | None = None
        self._slots = asyncio.Semaphore(max(1, settings.push_concurrency))
        self._retries: set[asyncio.Task[None]] = set()
        self._gone: set[str] = set()
        self._compiled: dict[tuple[str, str], CompiledFilter] = {}
        self._targeting: tuple[PointResolver, RegionClosure] | None = None
        self._area: tuple[tuple[str, int], AlertArea] | None = None
        self.nearby: nearby.Nearby | None = None
        """Names the nearest shelters in notifications for subscriptions with places (set by the runtime)."""
        self.cursor = 0
        self._persisted = 0
        self._persisted_at = 0.0
        self.backoff = Backoff(1.0, 30.0)

    # -- lifecycle ----------------------------------------------------------------------------------------

    async def start(self) -> None:
        """Load (or make, on first start) the VAPID key pair; open the cursor."""
        _require()
        from cryptography.hazmat.primitives import serialization
        from py_vapid import Vapid02

        candidate = new_private_key()
        pem = cast(str, await self.sql.transaction(lambda c: sql.ensure_meta(c, KEY_META, candidate)))
        self._vapid = Vapid02.from_pem(pem.encode())
        raw = self._vapid.public_key.public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        self.public_key = b64url(raw)
        self.cursor = self._persisted = cast(int, await self.sql.transaction(lambda c: sql.init_cursor(c, CURSOR)))
        self._persisted_at = time.monotonic()
        self._client = httpx.AsyncClient(timeout=httpx.Timeout(self.settings.push_timeout_s), follow_redirects=False)
        await self._count()

    async def stop(self) -> None:
        for task in tuple(self._retries):
            task.cancel()
        for task in tuple(self._retries):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self.cursor != self._persisted:
            with contextlib.suppress(Exception):
                await self._persist(self.cursor)
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def notify(self, event: LogEvent | None = None) -> None:
        self._signal.set()

    async def resume(self) -> None:
        """Run from the stored cursor (with several nodes, another one may have moved it meanwhile)."""
        self.cursor = self._persisted = cast(int, await self.sql.read(lambda c: sql.read_cursor(c, CURSOR)))
        self._persisted_at = time.monotonic()
        await self.run()

    async def run(self) -> None:
        while True:
            await wait_signal(self._signal, self.settings.delivery_poll_s)
            self._signal.clear()
            try:
                await self.drain()
            except Exception:
                log.exception("web push failed; retrying from the event log")
                await asyncio.sleep(self.settings.delivery_poll_s)

    async def drain(self) -> None:
        while True:
            events = await self.store.events_after(self.cursor, limit=BATCH)
            if not events:
                if self.cursor != self._persisted and time.monotonic() - self._persisted_at >= IDLE_PERSIST_S:
                    await self._persist(self.cursor)
                return
            if len(events) == BATCH and notification.ends_without_its_all_clear(events):
                events = events[:-1]  # its all-clear is in the next batch: take both together
            clears = notification.all_clears_by_alert(events)
            records = cast("list[PushRecord]", await self.sql.read(sql.list_push))
            self._gone.clear()
            sent_any = False
            for event in events:
                if notification.sent_with_its_end(event, clears):
                    self.cursor = event.seq
                    continue
                # An end followed by its all-clear is one notification, the all-clear (with the issuer's text),
                # to everyone either of them reaches: a phone shows one "all clear", not two.
                clear = notification.all_clear_of(event, clears)
                targets = [
                    r
                    for r in records
                    if r.id not in self._gone
                    and (self.reaches_event(r, event) or (clear is not None and self.reaches_event(r, clear)))
                ]
                if targets:
                    sent_any = True
                    await asyncio.gather(*(self.deliver(r, clear or event) for r in targets))
                self.cursor = event.seq
            if sent_any or time.monotonic() - self._persisted_at >= IDLE_PERSIST_S:
                await self._persist(self.cursor)

    async def _persist(self, seq: int) -> None:
        expected = self._persisted
        try:
            await self.sql.transaction(lambda c: sql.move_cursor(c, CURSOR, expected, seq))
        except sql.CursorMoved:
            self.cursor = self._persisted = cast(int, await self.sql.read(lambda c: sql.read_cursor(c, CURSOR)))
        else:
            self._persisted = seq
        self._persisted_at = time.monotonic()

    async def _count(self) -> None:
        records = cast("list[PushRecord]", await self.sql.read(sql.list_push))
        self.metrics.push_subscriptions.set(len(records))

    def _filter(self, record: PushRecord) -> CompiledFilter:
        key = (record.id, repr(sorted(record.filter.items())))
        found = self._compiled.get(key)
        if found is None:
            if len(self._compiled) > 100_000:
                self._compiled.clear()
            found = SubscriptionFilter.from_dict(record.filter).compile(self.registry)
            self._compiled[key] = found
        return found

    # -- subscriptions ------------------------------------------------------------------------------------

    def _places(self) -> tuple[PointResolver, RegionClosure]:
        if self._targeting is None:
            margin = self.settings.place_border_margin_m
            self._targeting = (PointResolver(self.registry, margin), RegionClosure(self.registry))
        return self._targeting

    def place_regions(self, places: Iterable[Place]) -> list[str]:
        """The regions each place lies in or near (the finest outlined level, within the border margin; see
        :class:`sirena.targeting.PointResolver`)."""
        found: dict[str, None] = {}
        for i, place in enumerate(places):
            hits: tuple[str, ...] = ()
            if -90 <= place.lat <= 90 and -180 <= place.lon <= 180:
                with contextlib.suppress(ValidationFailed):
                    hits = self._places()[0].resolve(place.lat, place.lon).regions
            if not hits:
                raise ValidationFailed("error.push_place_outside", field=f"places.{i}", lat=place.lat, lon=place.lon)
            found.update(dict.fromkeys(hits))
        return list(found)

    def reaches_event(self, record: PushRecord, event: LogEvent) -> bool:
        """An alert event by :meth:`reaches`; an advisory or all-clear by the filter's regions, statuses and
        channels (other notices are not pushed)."""
        if isinstance(event, Notice):
            return event.type in notification.PUSHED and self._filter(record).accepts(event)
        return self.reaches(record, event.alert)

    def reaches(self, record: PushRecord, alert: Alert) -> bool:
        """The subscription's filter; and for a polygon or circle alert, a subscription with places is reached
        only by a place inside the area (exactly, as :class:`sirena.targeting.AlertArea` decides) or by one of
        the regions it asked for itself."""
        if not self._filter(record).matches(alert):
            return False
        places = record.filter.get("places") or []
        if not places or not alert.target.is_geometry:
            return True
        key = (alert.id, alert.version)
        if self._area is None or self._area[0] != key:
            self._area = (key, AlertArea.of(alert, self._places()[1]))
        area = self._area[1]
        if area.points_inside([p[1] for p in places], [p[0] for p in places]).any():
            return True
        return any(r in area.affected for r in record.filter.get("own_regions") or ())

    async def subscribe(
        self,
        endpoint: str,
        p256dh: str,
        auth: str,
        *,
        regions: Sequence[str] | None = None,
        places: Sequence[Place] = (),
        statuses: frozenset[Status] = frozenset({Status.ACTUAL}),
        channels: Sequence[str] = (),
        lang: str = "uk",
    ) -> tuple[PushRecord, bool]:
        """Store a browser's push subscription for regions and/or places (all regions when neither is given).
        The same endpoint again replaces the earlier one. Returns the record and whether it is new."""
        check_keys(p256dh, auth)
        await address.check(endpoint, allow_private=self.settings.push_allow_private, field="subscription.endpoint")
        wanted: list[str] | None = None
        if regions is not None or places:
            wanted = [*(regions or ()), *self.place_regions(places)]
        flt = SubscriptionFilter(
            regions=tuple(dict.fromkeys(wanted)) if wanted is not None else None,
            statuses=statuses,
            channels=tuple(channels),
        )
        own = list(regions) if regions is not None else None
        as_dict = flt.to_dict() | {"places": [[p.lat, p.lon] for p in places], "own_regions": own}
        record = PushRecord(new_id(_utc()), endpoint, p256dh, auth, as_dict, lang)
        stored, created = cast(
            "tuple[PushRecord, bool]", await self.sql.transaction(lambda c: sql.upsert_push(c, record))
        )
        await self._count()
        return stored, created

    async def get(self, sub_id: str) -> PushRecord:
        found = cast(PushRecord | None, await self.sql.read(lambda c: sql.get_push(c, sub_id)))
        if found is None:
            raise PushSubscriptionNotFound("error.push_subscription_not_found", id=sub_id)
        return found

    async def unsubscribe(self, sub_id: str) -> None:
        if not await self.sql.transaction(lambda c: sql.delete_push(c, sub_id)):
            raise PushSubscriptionNotFound("error.push_subscription_not_found", id=sub_id)
        await self._count()

    # -- sending ------------------------------------------------------------------------------------------

    def _vapid_headers(self, endpoint: str) -> dict[str, str]:
        parts = urlsplit(endpoint)
        audience = f"{parts.scheme}://{parts.netloc}"
        now = time.time()
        cached = self._signed.get(audience)
        if cached is not None and cached[0] - now > 3600:
            return cached[1]
        expires = int(now) + 12 * 3600
        headers = cast(
            "dict[str, str]", self._vapid.sign({"sub": self.settings.push_contact, "aud": audience, "exp": expires})
        )
        self._signed[audience] = (float(expires), headers)
        return headers

    def encrypt(self, record: PushRecord, payload: bytes) -> bytes:
        from pywebpush import WebPusher

        pusher = WebPusher({"endpoint": record.endpoint, "keys": {"p256dh": record.p256dh, "auth": record.auth}})
        return cast(bytes, pusher.encode(payload, "aes128gcm")["body"])

    async def deliver(self, record: PushRecord, event: LogEvent) -> None:
        """First attempt now; retries, if needed, in the background so the next event is not held up."""
        body = notification.notification(event, self.registry, record.lang)
        if self.nearby is not None:
            near = await self.nearby.for_event(event, record.filter)
            nearby.attach(body, near, notification.MAX_PLAINTEXT, notification.encode)
            body = notification.with_nearest_shelter(body, record.lang)
        payload = notification.encode(body)
        status = await self.send(record, payload, event)
        if status in RETRIABLE or status is None:
            task = asyncio.create_task(self._retry(record, payload, event))
            self._retries.add(task)
            task.add_done_callback(self._retries.discard)

    async def _retry(self, record: PushRecord, payload: bytes, event: LogEvent) -> None:
        for attempt in range(1, self.settings.push_retries + 1):
            self.metrics.push_retries.inc()
            await asyncio.sleep(self.backoff.delay(attempt))
            status = await self.send(record, payload, event)
            if status not in RETRIABLE and status is not None:
                return
        self.metrics.push_failures.inc()
        log.warning("web push to subscription %s failed for event %s", record.id, event.seq)
        with contextlib.suppress(Exception):
            await self.sql.transaction(lambda c: sql.push_failed(c, record.id))

    async def send(self, record: PushRecord, payload: bytes, event: LogEvent) -> int | None:
        """One attempt; the push service's status (``None`` for a network error). Never raises."""
        try:
            await address.check(record.endpoint, allow_private=self.settings.push_allow_private)
        except UnsafeTarget:
            log.warning("push endpoint of subscription %s refused (private address)", record.id)
            return 403
        client = self._client
        assert client is not None
        try:
            body = self.encrypt(record, payload)
            headers = {
                **self._vapid_headers(record.endpoint),
                "TTL": str(self.settings.push_ttl_s),
                "Content-Encoding": "aes128gcm",
                "Content-Type": "application/octet-stream",
                "Urgency": notification.urgency(event),
                "Topic": notification.topic(event),
                "User-Agent": f"Sirena/{__version__} (web push)",
            }
        except Exception:
            log.exception("could not prepare a push message for subscription %s", record.id)
            self.metrics.push_failures.inc()
            return 400
        async with self._slots:
            try:
                response = await client.post(record.endpoint, content=body, headers=headers)
            except httpx.HTTPError as exc:
                log.info("push to subscription %s: %s", record.id, exc)
                return None
        status = response.status_code
        if status in GONE:
            self._gone.add(record.id)
            self.metrics.push_expired.inc()
            with contextlib.suppress(Exception):
                await self.sql.transaction(lambda c: sql.delete_push(c, record.id))
            await self._count()
        elif 200 <= status < 300:
            self.metrics.push_sent.inc()
            if record.failures:
                await self.sql.transaction(lambda c: sql.push_succeeded(c, record.id))
        elif status not in RETRIABLE:
            self.metrics.push_failures.inc()
            log.warning("push to subscription %s refused: HTTP %s", record.id, status)
        return status


def _utc() -> Any:
    from datetime import UTC, datetime

    return datetime.now(UTC)
