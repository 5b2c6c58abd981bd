"""Delivery channels: durable signed webhooks, the MQTT bridge with Home Assistant discovery, Web Push, and the
metrics that show what was delivered and what was not.

For extensions (a compatible API with its own webhook body shape, for example) the entry point is
``runtime.delivery.webhooks`` (:class:`Webhooks`): ``subscribe(WebhookSpec(url, kind=..., format=...))``,
``find``, ``get``, ``update``, ``delete``, ``enqueue`` and ``deliveries``. A format is an async function
``(event, subscription, context) -> list[str]`` of request bodies, registered with
``Webhooks.register_format(name, fn)`` or named by ``"module:attribute"``; ``format="manual"`` sends only what
is queued with ``Webhooks.enqueue``.
"""

from sirena.delivery.backoff import Backoff
from sirena.delivery.channels import Delivery
from sirena.delivery.errors import (
    ChannelDisabled,
    MissingExtra,
    PushSubscriptionNotFound,
    UnsafeTarget,
    WebhookNotFound,
)
from sirena.delivery.filters import SubscriptionFilter
from sirena.delivery.metrics import DeliveryMetrics
from sirena.delivery.signing import SignatureError, new_secret, verify
from sirena.delivery.webhooks import (
    MANUAL,
    NATIVE,
    FormatContext,
    WebhookFormat,
    Webhooks,
    WebhookSpec,
    native_format,
)
from sirena.store.delivery import Attempt, WebhookSubscription

__all__ = [
    "MANUAL",
    "NATIVE",
    "Attempt",
    "Backoff",
    "ChannelDisabled",
    "Delivery",
    "DeliveryMetrics",
    "FormatContext",
    "MissingExtra",
    "PushSubscriptionNotFound",
    "SignatureError",
    "SubscriptionFilter",
    "UnsafeTarget",
    "WebhookFormat",
    "WebhookNotFound",
    "WebhookSpec",
    "WebhookSubscription",
    "Webhooks",
    "native_format",
    "new_secret",
    "verify",
]
