"""CAP timestamps: ``YYYY-MM-DDThh:mm:ss±hh:mm``, always with a numeric offset, never ``Z``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

_CAP_FORM: Final = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[-+]\d\d:\d\d")
_ISO_DATE_TIME: Final = re.compile(r"\d{4}-\d\d-\d\d[Tt ]\d\d:\d\d")


@dataclass(frozen=True, slots=True)
class ParsedTimestamp:
    """The result of reading one timestamp.

    ``value`` is timezone-aware or ``None``. ``problem`` is an issue code when the text is not in CAP form:
    ``timestamp_format`` (readable, another ISO 8601 form), ``timestamp_no_offset`` (no offset: ``value`` is then
    read as UTC) or ``timestamp_invalid`` (unreadable).
    """

    value: datetime | None
    problem: str | None = None


def parse_timestamp(text: str) -> ParsedTimestamp:
    """Read a CAP timestamp, accepting other ISO 8601 date-times but saying so."""
    text = text.strip()
    if _CAP_FORM.fullmatch(text):
        try:
            return ParsedTimestamp(datetime.fromisoformat(text))
        except ValueError:
            return ParsedTimestamp(None, "timestamp_invalid")
    if not _ISO_DATE_TIME.match(text):
        return ParsedTimestamp(None, "timestamp_invalid")
    try:
        value = datetime.fromisoformat(text.upper())  # RFC 3339 allows a lower-case t and z
    except ValueError:
        return ParsedTimestamp(None, "timestamp_invalid")
    if value.tzinfo is None:
        return ParsedTimestamp(value.replace(tzinfo=UTC), "timestamp_no_offset")
    return ParsedTimestamp(value, "timestamp_format")


def format_timestamp(value: datetime) -> str:
    """``value`` in CAP form, keeping its offset (UTC is written ``+00:00``)."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("CAP timestamps need a timezone offset")
    return value.replace(microsecond=0).isoformat(timespec="seconds")
