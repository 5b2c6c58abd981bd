"""One exception tree for every error Sirena reports.

Each error carries an HTTP status, a stable type slug (rendered as ``type`` in RFC 9457 problem documents), a
message-catalogue key for its title and detail, and optional structured data. The HTTP layer renders them as
``application/problem+json``; the CLI prints the detail on one line and exits non-zero.
"""

from __future__ import annotations

from typing import Any, ClassVar

from sirena import messages


class SirenaError(Exception):
    """Base of every error Sirena raises on purpose."""

    status: ClassVar[int] = 500
    slug: ClassVar[str] = "internal-error"
    key: ClassVar[str] = "error.internal"

    def __init__(self, detail_key: str | None = None, /, **data: Any) -> None:
        self.detail_key = detail_key or self.key
        self.data = data
        super().__init__(self.detail())

    def title(self, lang: str = "en") -> str:
        return messages.t(self.key + ".title", lang)

    def detail(self, lang: str = "en") -> str:
        return messages.t(self.detail_key, lang, **messages.said(self.data, lang))

    def extensions(self, lang: str = "en") -> dict[str, Any]:
        """Extra members of the problem document (JSON-safe values only), a :class:`~sirena.messages.Phrase`
        among them (a ``reason``) said in ``lang``."""
        data = messages.said(self.data, lang)
        return {k: v for k, v in data.items() if isinstance(v, str | int | float | bool | list | dict)}


class BadRequest(SirenaError):
    status = 400
    slug = "bad-request"
    key = "error.bad_request"


class MalformedJSON(BadRequest):
    slug = "malformed-json"
    key = "error.malformed_json"


class Unauthorized(SirenaError):
    status = 401
    slug = "unauthorized"
    key = "error.unauthorized"


class Forbidden(SirenaError):
    status = 403
    slug = "forbidden"
    key = "error.forbidden"


class NotFound(SirenaError):
    status = 404
    slug = "not-found"
    key = "error.not_found"


class AlertNotFound(NotFound):
    slug = "alert-not-found"
    key = "error.alert_not_found"


class RegionNotFound(NotFound):
    slug = "region-not-found"
    key = "error.region_not_found"


class Conflict(SirenaError):
    status = 409
    slug = "conflict"
    key = "error.conflict"


class InvalidTransition(Conflict):
    """A lifecycle step that the alert's current state does not allow (e.g. ending an ended alert)."""

    slug = "invalid-transition"
    key = "error.invalid_transition"


class IdempotencyConflict(Conflict):
    slug = "idempotency-key-reused"
    key = "error.idempotency_conflict"


class PayloadTooLarge(SirenaError):
    status = 413
    slug = "payload-too-large"
    key = "error.payload_too_large"


class ValidationFailed(SirenaError):
    """Input that parses but does not make sense; ``errors`` lists each field, value and reason."""

    status = 422
    slug = "validation-failed"
    key = "error.validation"


class UnknownRegion(ValidationFailed):
    slug = "unknown-region"
    key = "error.unknown_region"


class RateLimited(SirenaError):
    status = 429
    slug = "rate-limited"
    key = "error.rate_limited"


class Unavailable(SirenaError):
    status = 503
    slug = "unavailable"
    key = "error.unavailable"


class LeaseLost(Unavailable):
    """This node lost a work lease before its work ended (another node took it, or renewals did not get
    through in time); the work was stopped."""


class ConfigurationError(SirenaError):
    """A setting or file given by the operator is wrong; raised at start-up, before anything runs."""

    status = 500
    slug = "configuration-error"
    key = "error.configuration"


class DataError(SirenaError):
    """A data file (regions, history, shelters) could not be read."""

    status = 422
    slug = "data-error"
    key = "error.data"
