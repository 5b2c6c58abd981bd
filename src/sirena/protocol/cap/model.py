"""What CAP ingest returns: the parsed messages (frozen, element for element) and the report around them.

Field names follow CAP in snake case (``msgType`` → ``msg_type``); repeatable elements become tuples and
``valueName``/``value`` pairs become ``(name, value)`` tuples. Optional text that is absent is ``None``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from sirena import messages
from sirena.protocol.cap.timestamps import format_timestamp

#: (latitude, longitude) in WGS 84 degrees.
Point = tuple[float, float]
#: (latitude, longitude, radius in km).
Circle = tuple[float, float, float]
#: A ``valueName``/``value`` pair (``eventCode``, ``parameter``, ``geocode``).
NamedValue = tuple[str, str]


class Format(StrEnum):
    """The shape of an input document."""

    CAP_XML = "cap-xml"
    CAP_JSON = "cap-json"
    ATOM = "atom"
    RSS = "rss"
    EDXL_DE = "edxl-de"


class SignatureVerdict(StrEnum):
    """What the XML signatures of a message prove (see ``docs/cap.md``)."""

    ABSENT = "absent"
    VERIFIED = "verified"
    UNTRUSTED = "untrusted"
    INVALID = "invalid"


@dataclass(frozen=True, slots=True)
class Reference:
    """One earlier message named in ``references``: its (sender, identifier, sent) triple.

    ``sent`` is the timestamp in CAP form (``YYYY-MM-DDThh:mm:ss±hh:mm``, UTC written ``+00:00``) when it can be
    read, otherwise the text as written; ``sent_at`` is the parsed time or ``None``.
    """

    sender: str
    identifier: str
    sent: str
    sent_at: datetime | None = None

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.sender, self.identifier, self.sent)


@dataclass(frozen=True, slots=True)
class CapResource:
    resource_desc: str
    mime_type: str
    size: int | None = None
    uri: str | None = None
    deref_uri: str | None = None
    digest: str | None = None


@dataclass(frozen=True, slots=True)
class CapArea:
    area_desc: str
    polygons: tuple[tuple[Point, ...], ...] = ()
    circles: tuple[Circle, ...] = ()
    geocodes: tuple[NamedValue, ...] = ()
    altitude: float | None = None
    ceiling: float | None = None


@dataclass(frozen=True, slots=True)
class CapInfo:
    language: str
    category: tuple[str, ...]
    event: str
    urgency: str
    severity: str
    certainty: str
    response_type: tuple[str, ...] = ()
    audience: str | None = None
    event_code: tuple[NamedValue, ...] = ()
    effective: datetime | None = None
    onset: datetime | None = None
    expires: datetime | None = None
    sender_name: str | None = None
    headline: str | None = None
    description: str | None = None
    instruction: str | None = None
    web: str | None = None
    contact: str | None = None
    parameters: tuple[NamedValue, ...] = ()
    resources: tuple[CapResource, ...] = ()
    areas: tuple[CapArea, ...] = ()


@dataclass(frozen=True, slots=True)
class CapMessage:
    """One CAP ``alert``. ``sent`` is ``None`` only when the timestamp could not be read (see the report)."""

    identifier: str
    sender: str
    sent: datetime | None
    status: str
    msg_type: str
    scope: str
    source: str | None = None
    restriction: str | None = None
    addresses: tuple[str, ...] = ()
    code: tuple[str, ...] = ()
    note: str | None = None
    references: tuple[Reference, ...] = ()
    incidents: tuple[str, ...] = ()
    infos: tuple[CapInfo, ...] = ()
    version: str | None = None
    sent_text: str = ""


def message_key(msg: CapMessage) -> tuple[str, str, str]:
    """The identity of ``msg`` as other messages' ``references`` name it: (sender, identifier, sent).

    ``sent`` is written the way :class:`Reference` writes it, so ``message_key(m) == ref.key`` when ``ref`` names
    ``m``.
    """
    sent = format_timestamp(msg.sent) if msg.sent is not None else msg.sent_text
    return (msg.sender, msg.identifier, sent)


@dataclass(frozen=True, slots=True)
class Issue:
    """One finding: ``code`` is stable (catalogue key ``cap.issue.<code>``), ``message`` is its English text.

    ``path`` names the element (``/alert/info[1]/area[2]/polygon[1]``); ``line`` is the source line in XML input.
    """

    code: str
    message: str
    path: str | None = None
    line: int | None = None
    params: tuple[tuple[str, str], ...] = field(default=(), compare=False)

    def text(self, lang: str = "en") -> str:
        """The message in ``lang`` (any catalogue language)."""
        return messages.t(f"cap.issue.{self.code}", lang, **dict(self.params))

    def to_json(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "path": self.path, "line": self.line}


@dataclass(frozen=True, slots=True)
class Report:
    """Everything ingest learnt about one input document.

    ``schema_valid`` is ``None`` when no schema applies (CAP-JSON, CAP 1.0, a feed without embedded alerts).
    ``signature`` is the weakest verdict over the alerts (see ``docs/cap.md``). ``links`` lists the CAP documents a
    feed points to without embedding them.
    """

    format: Format
    version: str | None
    schema_valid: bool | None
    errors: tuple[Issue, ...]
    warnings: tuple[Issue, ...]
    repairs: tuple[Issue, ...]
    signature: SignatureVerdict
    messages: tuple[CapMessage, ...]
    links: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready summary (the messages themselves are counted, not included)."""
        return {
            "format": self.format.value,
            "version": self.version,
            "schema_valid": self.schema_valid,
            "errors": [i.to_json() for i in self.errors],
            "warnings": [i.to_json() for i in self.warnings],
            "repairs": [i.to_json() for i in self.repairs],
            "signature": self.signature.value,
            "alerts": len(self.messages),
            "links": list(self.links),
        }
