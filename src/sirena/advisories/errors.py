"""Errors of channels, advisories, reports and the coordination line (rendered as problem+json)."""

from __future__ import annotations

from sirena.errors import Conflict, Forbidden, NotFound


class ChannelNotFound(NotFound):
    slug = "channel-not-found"
    key = "advisories.error.channel_not_found"


class ChannelExists(Conflict):
    slug = "channel-exists"
    key = "advisories.error.channel_exists"


class AdvisoryNotFound(NotFound):
    slug = "advisory-not-found"
    key = "advisories.error.advisory_not_found"


class AdvisoryEnded(Conflict):
    """The advisory was ended already (or has expired): it can no longer change."""

    slug = "advisory-ended"
    key = "advisories.error.advisory_ended"


class ReportNotFound(NotFound):
    slug = "report-not-found"
    key = "advisories.error.report_not_found"


class AlertNotActive(Conflict):
    """Reports attach to active alerts only."""

    slug = "alert-not-active"
    key = "advisories.error.alert_not_active"


class MessageNotFound(NotFound):
    """No such coordination message, or not one the caller may read (the line never says which)."""

    slug = "message-not-found"
    key = "advisories.error.message_not_found"


class NotAddressed(Forbidden):
    """Only an addressee (or someone the message was escalated to, or an administrator) may acknowledge it."""

    slug = "not-addressed"
    key = "advisories.error.not_addressed"
