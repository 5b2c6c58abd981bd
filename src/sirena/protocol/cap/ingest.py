"""CAP ingest: one document in, one :class:`Report` out.

Real-world CAP is messy, so almost everything is reported rather than refused: the report carries schema errors,
semantic problems, repairs and the signature verdict next to the messages read. Only input that cannot be used at
all raises (not CAP, unsafe, too large, undecodable, not well-formed).
"""

from __future__ import annotations

from collections.abc import Sequence

from lxml import etree

from sirena.protocol.cap import vocabulary as v
from sirena.protocol.cap.builder import Builder
from sirena.protocol.cap.document import DEFAULT_MAX_BYTES
from sirena.protocol.cap.edxl import read_distribution
from sirena.protocol.cap.feed import read_feed
from sirena.protocol.cap.formats import load
from sirena.protocol.cap.issues import IssueLog
from sirena.protocol.cap.model import CapMessage, Format, Report, SignatureVerdict
from sirena.protocol.cap.schema import validate
from sirena.protocol.cap.signature import load_trust_anchors, verify_alert, weakest
from sirena.protocol.cap.tree import element_path, from_json, from_xml, line_of, without_namespace


def _schema_verdict(results: Sequence[bool | None]) -> bool | None:
    if any(result is False for result in results):
        return False
    if results and all(result is True for result in results):
        return True
    return None


def ingest(
    data: bytes,
    *,
    trust_anchors: Sequence[bytes] = (),
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> Report:
    """Read a CAP document (CAP 1.0–1.2 XML, CAP-JSON, an Atom/RSS feed or an EDXL-DE distribution) and report
    on it.

    ``trust_anchors`` are the certificates or public keys (PEM or DER) whose signatures count as ``verified``.
    Raises a :class:`~sirena.errors.BadRequest` subclass (or :class:`~sirena.errors.PayloadTooLarge`) when the
    input is unusable, and :class:`~sirena.protocol.cap.errors.SigningKeyError` for an unreadable trust anchor.
    """
    anchors = load_trust_anchors(trust_anchors)
    log = IssueLog()
    document = load(data, max_bytes=max_bytes, log=log)
    if document.format is Format.CAP_JSON:
        builder = Builder(log, None, from_json=True, check_required=True)
        message = builder.message(from_json(document.value))
        return _report(Format.CAP_JSON, None, None, log, SignatureVerdict.ABSENT, (message,), ())
    root = document.root
    if root is None:  # pragma: no cover - load() always sets root for XML formats
        raise AssertionError("XML document without a root")
    if document.format is Format.CAP_XML:
        alerts: tuple[etree._Element, ...] = (root,)
        links: tuple[str, ...] = ()
    else:
        reader = read_distribution if document.format is Format.EDXL_DE else read_feed
        content = reader(root, log)
        alerts, links = content.alerts, content.links
    messages: list[CapMessage] = []
    verdicts: list[SignatureVerdict] = []
    validity: list[bool | None] = []
    versions: list[str] = []
    for alert in alerts:
        version = v.version_of(etree.QName(alert).namespace) or v.CAP_1_2
        valid = validate(alert, version, log)
        stray = without_namespace(alert)
        if stray is not None:
            log.repair("namespace_missing", element_path(stray), line_of(stray))
        builder = Builder(log, version, from_json=False, check_required=valid is None)
        message = builder.message(from_xml(alert))
        verdicts.append(verify_alert(alert, anchors, sent=message.sent, log=log))
        messages.append(message)
        validity.append(valid)
        if version not in versions:
            versions.append(version)
    return _report(
        document.format,
        ",".join(versions) or None,
        _schema_verdict(validity),
        log,
        weakest(verdicts),
        tuple(messages),
        links,
    )


def _report(
    fmt: Format,
    version: str | None,
    schema_valid: bool | None,
    log: IssueLog,
    signature: SignatureVerdict,
    messages: tuple[CapMessage, ...],
    links: tuple[str, ...],
) -> Report:
    log.close()
    return Report(
        format=fmt,
        version=version,
        schema_valid=schema_valid,
        errors=tuple(log.errors),
        warnings=tuple(log.warnings),
        repairs=tuple(log.repairs),
        signature=signature,
        messages=messages,
        links=links,
    )
