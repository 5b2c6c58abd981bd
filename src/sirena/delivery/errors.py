"""Errors of the delivery channels, rendered like every other error (RFC 9457)."""

from __future__ import annotations

from sirena.errors import ConfigurationError, NotFound, ValidationFailed


class UnsafeTarget(ValidationFailed):
    """A webhook or push URL that is malformed, or points at a private or loopback address."""

    slug = "unsafe-target"
    key = "error.webhook_url"


class WebhookNotFound(NotFound):
    slug = "webhook-not-found"
    key = "error.webhook_not_found"


class PushSubscriptionNotFound(NotFound):
    slug = "push-subscription-not-found"
    key = "error.push_subscription_not_found"


class ChannelDisabled(NotFound):
    """The channel is switched off in the settings."""

    slug = "channel-disabled"
    key = "error.channel_disabled"


class MissingExtra(ConfigurationError):
    """A channel is switched on but its optional dependencies are not installed."""

    slug = "missing-extra"
    key = "error.missing_extra"
