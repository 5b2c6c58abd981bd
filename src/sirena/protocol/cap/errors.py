"""Errors for CAP input that cannot be used at all. Anything less serious goes into the report instead."""

from __future__ import annotations

from sirena.errors import BadRequest, ConfigurationError, PayloadTooLarge


class NotCap(BadRequest):
    """The input is well-formed but is not CAP, CAP-JSON or a feed of CAP."""

    slug = "not-cap"
    key = "cap.error.not_cap"


class UnsafeDocument(BadRequest):
    """The XML declares a DTD or entities; Sirena refuses those outright (XXE, entity expansion)."""

    slug = "unsafe-xml"
    key = "cap.error.unsafe"


class MalformedDocument(BadRequest):
    """The input is not well-formed XML or JSON."""

    slug = "malformed-cap"
    key = "cap.error.malformed"


class UndecodableDocument(BadRequest):
    """The bytes cannot be decoded in the encoding they declare (or an unknown encoding is declared)."""

    slug = "undecodable"
    key = "cap.error.undecodable"


class DocumentTooLarge(PayloadTooLarge):
    slug = "cap-too-large"
    key = "cap.error.too_large"


class SigningKeyError(ConfigurationError):
    """A key, certificate or trust anchor given by the operator cannot be used."""

    slug = "cap-signing-key"
    key = "cap.error.key"
