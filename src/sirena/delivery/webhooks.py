"""Webhook subscriptions and the outbox: the library API under ``/api/v1/webhooks`` and the compatible APIs.

A subscription names a URL, a filter and a *format*: how an event becomes request bodies. ``native`` sends the
stream's ``{"seq", "type", "alert"}`` object; ``manual`` sends only what is queued with :meth:`Webhooks.enqueue`;
any other name is a format registered with :meth:`Webhooks.register_format` or a ``"module:attribute"`` path to
one, so an extension (a compatible API with its own body shape) needs no change here. The *kind* says who owns
a subscription: the native API lists only ``native`` ones.
"""

from __future__ import annotations

import importlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, cast

from sirena.delivery import address, signing
from sirena.delivery.errors import UnsafeTarget, WebhookNotFound
from sirena.delivery.filters import SubscriptionFilter
from sirena.domain.model import Event
from sirena.ids import new_id
from sirena.protocol.alert_json import dumps, event_to_dict
from sirena.store import delivery as sql
from sirena.store.delivery import Attempt, NewMessage, SQLRunner, WebhookMessage, WebhookSubscription

if TYPE_CHECKING:
    from sirena.delivery.nearby import Nearby
    from sirena.regions import RegionRegistry
    from sirena.service import AlertService
    from sirena.settings import Settings

log = logging.getLogger("sirena.delivery")

NATIVE = "native"
MANUAL = "manual"


@dataclass(frozen=True, slots=True)
class FormatContext:
    """What a format may consult besides the event: the region tree and the alert service (read only)."""

    registry: RegionRegistry
    service: AlertService
    nearby: Nearby | None = None
    """Decides geometry alerts for subscriptions with places and names their nearest shelters."""


WebhookFormat = Callable[[Event, WebhookSubscription, FormatContext], Awaitable[Sequence[str]]]
"""Turns one event that matched a subscription's filter into zero or more request bodies (JSON text), each
delivered as its own message, in order."""


async def native_format(event: Event, subscription: WebhookSubscription, context: FormatContext) -> Sequence[str]:
    """The live stream's ``data:`` object, byte for byte; for a subscription with places, an issued or updated
    alert adds a ``nearby`` member (the nearest shelters, see :mod:`sirena.delivery.nearby`)."""
    body = event_to_dict(event)
    if context.nearby is not None and subscription.filter.get("places"):
        near = await context.nearby.for_event(event, subscription.filter)
        if near is not None:
            body["nearby"] = near
    return [dumps(body)]


@dataclass(frozen=True, slots=True)
class WebhookSpec:
    """A subscription to create. ``secret`` is generated when not given."""

    url: str
    filter: SubscriptionFilter = field(default_factory=SubscriptionFilter)
    kind: str = NATIVE
    format: str = NATIVE
    headers: Mapping[str, str] = field(default_factory=dict)
    owner: str | None = None
    secret: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)
    """Stored with the filter: ``places`` and ``own_regions`` (see :mod:`sirena.delivery.nearby`)."""


class Webhooks:
    """Create, read, change and delete subscriptions; queue messages; read the delivery log."""

    def __init__(self, store: SQLRunner, settings: Settings, wake: Callable[[str], None]) -> None:
        self.store = store
        self.settings = settings
        self._wake = wake
        self._formats: dict[str, WebhookFormat] = {NATIVE: native_format}

    # -- formats ------------------------------------------------------------------------------------------

    def register_format(self, name: str, fn: WebhookFormat) -> None:
        """Make ``name`` usable as a subscription's format in this process."""
        if name in {NATIVE, MANUAL}:
            raise ValueError(f"{name} is built in")
        self._formats[name] = fn

    def resolve_format(self, name: str) -> WebhookFormat:
        """The format called ``name``: built in, registered, or imported from ``"module:attribute"``."""
        found = self._formats.get(name)
        if found is not None:
            return found
        module_name, _, attribute = name.partition(":")
        if not attribute:
            raise LookupError(f"unknown webhook format {name!r}")
        target = getattr(importlib.import_module(module_name), attribute)
        if not callable(target):
            raise LookupError(f"webhook format {name!r} is not callable")
        fn = cast(WebhookFormat, target)
        self._formats[name] = fn
        return fn

    # -- subscriptions ------------------------------------------------------------------------------------

    async def check_url(self, url: str, field: str = "url") -> None:
        await address.check(url, allow_private=self.settings.webhook_allow_private, field=field)

    async def subscribe(self, spec: WebhookSpec) -> WebhookSubscription:
        """Create a subscription; it receives the events committed from now on. The returned record holds
        the secret: show it to the subscriber once."""
        await self.check_url(spec.url)
        if spec.format != MANUAL:
            try:
                self.resolve_format(spec.format)
            except (LookupError, ImportError, AttributeError) as exc:
                raise ValueError(f"unknown webhook format {spec.format!r}") from exc
        secret = spec.secret or signing.new_secret()
        try:
            signing.secret_key(secret)
        except signing.SignatureError:
            raise UnsafeTarget("error.webhook_secret_invalid", field="secret") from None
        record = WebhookSubscription(
            id=new_id(_utc()),
            url=spec.url,
            secret=secret,
            filter=spec.filter.to_dict() | dict(spec.extra),
            kind=spec.kind,
            format=spec.format,
            headers=dict(spec.headers),
            owner=spec.owner,
        )
        return cast(WebhookSubscription, await self.store.transaction(lambda c: sql.create_subscription(c, record)))

    async def get(self, sub_id: str, *, kind: str | None = None) -> WebhookSubscription:
        """The live subscription ``sub_id`` (of ``kind``, when given), or :class:`WebhookNotFound`."""
        found = cast(WebhookSubscription | None, await self.store.read(lambda c: sql.get_subscription(c, sub_id)))
        if found is None or (kind is not None and found.kind != kind):
            raise WebhookNotFound("error.webhook_not_found", id=sub_id)
        return found

    async def find(self, *, kind: str | None = None, owner: str | None = None) -> list[WebhookSubscription]:
        return cast(
            "list[WebhookSubscription]", await self.store.read(lambda c: sql.list_subscriptions(c, kind, owner))
        )

    async def update(
        self,
        sub_id: str,
        *,
        kind: str | None = None,
        url: str | None = None,
        filter: SubscriptionFilter | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> WebhookSubscription:
        """Change the URL, filter or extra headers; messages already queued go to the new URL."""
        current = await self.get(sub_id, kind=kind)
        if url is not None:
            await self.check_url(url)
        kept = {k: current.filter[k] for k in ("places", "own_regions") if k in current.filter}
        as_dict = filter.to_dict() | kept if filter is not None else None
        updated = await self.store.transaction(
            lambda c: sql.update_subscription(c, sub_id, url=url, filter=as_dict, headers=headers)
        )
        if updated is None:
            raise WebhookNotFound("error.webhook_not_found", id=sub_id)
        return cast(WebhookSubscription, updated)

    async def delete(self, sub_id: str, *, kind: str | None = None) -> None:
        """Stop delivering to the subscription; undelivered messages are cancelled, the log is kept."""
        await self.get(sub_id, kind=kind)
        now = time.time()
        if not await self.store.transaction(lambda c: sql.delete_subscription(c, sub_id, now)):
            raise WebhookNotFound("error.webhook_not_found", id=sub_id)
        self._wake(sub_id)

    # -- the outbox ---------------------------------------------------------------------------------------

    async def enqueue(self, sub_id: str, bodies: Sequence[str], *, key: str | None = None) -> list[str]:
        """Queue request bodies for a subscription (any format; ``manual`` ones get only these), in order, in one
        transaction. With ``key``, queueing the same key again adds nothing (so a caller may retry safely).
        Returns the new messages' ``webhook-id`` values."""
        await self.get(sub_id)
        now = time.time()
        rows = [
            NewMessage(sub_id, body, key=None if key is None else (key if len(bodies) == 1 else f"{key}:{i}"))
            for i, body in enumerate(bodies)
        ]
        made = cast("list[str]", await self.store.transaction(lambda c: sql.insert_messages(c, rows, now)))
        if made:
            self._wake(sub_id)
        return made

    async def deliveries(self, sub_id: str, *, limit: int = 100, before: int | None = None) -> list[Attempt]:
        """The delivery log, newest attempt first (also for deleted subscriptions)."""
        return cast("list[Attempt]", await self.store.read(lambda c: sql.attempts(c, sub_id, limit, before)))

    async def messages(self, sub_id: str, *, state: str | None = None, limit: int = 100) -> list[WebhookMessage]:
        """The subscription's messages, newest first (``state``: pending, delivered, dead, cancelled)."""
        return cast("list[WebhookMessage]", await self.store.read(lambda c: sql.messages(c, sub_id, state, limit)))

    async def counts(self, sub_id: str) -> dict[str, int]:
        return cast("dict[str, int]", await self.store.read(lambda c: sql.message_counts(c, sub_id)))

    async def redrive(self, sub_id: str, *, kind: str | None = None) -> int:
        """Queue the dead-lettered messages again (after the receiver was fixed); returns how many."""
        await self.get(sub_id, kind=kind)
        now = time.time()
        count = cast(int, await self.store.transaction(lambda c: sql.redrive(c, sub_id, now)))
        if count:
            self._wake(sub_id)
        return count


def _utc() -> datetime:
    return datetime.now(UTC)
