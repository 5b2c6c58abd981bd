"""OASIS Common Alerting Protocol: ingest (CAP 1.0–1.2 XML, CAP-JSON, CAP in Atom/RSS) and XML signatures.

Pure functions from bytes to objects: nothing here opens a socket or a file (except the schemas shipped as package
data). Start with :func:`ingest`; see ``docs/cap.md``.
"""

from __future__ import annotations

from sirena.protocol.cap.document import DEFAULT_MAX_BYTES
from sirena.protocol.cap.errors import (
    DocumentTooLarge,
    MalformedDocument,
    NotCap,
    SigningKeyError,
    UndecodableDocument,
    UnsafeDocument,
)
from sirena.protocol.cap.formats import detect
from sirena.protocol.cap.ingest import ingest
from sirena.protocol.cap.model import (
    CapArea,
    CapInfo,
    CapMessage,
    CapResource,
    Format,
    Issue,
    Reference,
    Report,
    SignatureVerdict,
    message_key,
)
from sirena.protocol.cap.signature import sign

__all__ = [
    "DEFAULT_MAX_BYTES",
    "CapArea",
    "CapInfo",
    "CapMessage",
    "CapResource",
    "DocumentTooLarge",
    "Format",
    "Issue",
    "MalformedDocument",
    "NotCap",
    "Reference",
    "Report",
    "SignatureVerdict",
    "SigningKeyError",
    "UndecodableDocument",
    "UnsafeDocument",
    "detect",
    "ingest",
    "message_key",
    "sign",
]
