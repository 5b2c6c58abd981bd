"""Which kind of CAP document a byte string is: CAP XML, CAP-JSON, an Atom/RSS feed or an EDXL-DE distribution.
Never a guess.

XML is classified by its root element and namespace, JSON by the CAP alert keys it carries. Anything else, GeoJSON
included, is refused with a reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from lxml import etree

from sirena.protocol.cap import vocabulary as v
from sirena.protocol.cap.document import DEFAULT_MAX_BYTES, check_size, parse_json, parse_xml, sniff_text
from sirena.protocol.cap.edxl import is_distribution
from sirena.protocol.cap.errors import NotCap
from sirena.protocol.cap.issues import IssueLog
from sirena.protocol.cap.model import Format

#: Keys every CAP-JSON alert has, and the keys of which at least one must be present besides.
_JSON_IDENTITY: Final = ("identifier", "sender", "sent")
_JSON_BODY: Final = ("status", "msgType", "scope", "info")


@dataclass(frozen=True, slots=True)
class Document:
    """A parsed input: ``root`` for XML formats, ``value`` (the JSON object) for CAP-JSON."""

    format: Format
    root: etree._Element | None = None
    value: dict[str, Any] | None = None


def _classify_xml(root: etree._Element) -> Format:
    qname = etree.QName(root)
    if qname.localname == "alert":
        if v.version_of(qname.namespace) is not None:
            return Format.CAP_XML
        raise NotCap("cap.not_cap_namespace", namespace=qname.namespace or "(none)")
    if qname.namespace == v.NS_ATOM and qname.localname in ("feed", "entry"):
        return Format.ATOM
    if qname.namespace is None and qname.localname == "rss":
        return Format.RSS
    if is_distribution(root):
        return Format.EDXL_DE
    raise NotCap("cap.not_cap_root", root=qname.localname, namespace=qname.namespace or "(none)")


def _classify_json(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise NotCap("cap.not_cap_json", reason="not a JSON object")
    if value.get("type") in ("FeatureCollection", "Feature"):
        raise NotCap("cap.not_cap_geojson")
    missing = [key for key in _JSON_IDENTITY if key not in value]
    if not any(key in value for key in _JSON_BODY):
        missing.append(" or ".join(_JSON_BODY))
    if missing:
        raise NotCap("cap.not_cap_json", reason="missing " + ", ".join(missing))
    return value


def load(data: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES, log: IssueLog | None = None) -> Document:
    """Check, parse and classify ``data``; raises when it is unusable or not CAP."""
    check_size(data, max_bytes)
    head = sniff_text(data).lstrip()
    if not head:
        raise NotCap("cap.not_cap_empty")
    if head[0] == "<":
        root = parse_xml(data, log if log is not None else IssueLog())
        return Document(_classify_xml(root), root=root)
    if head[0] in "{[":
        return Document(Format.CAP_JSON, value=_classify_json(parse_json(data)))
    raise NotCap("cap.not_cap_syntax")


def detect(data: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES) -> Format:
    """The format of ``data`` (:class:`Format`); raises :class:`NotCap` (or another input error) otherwise."""
    return load(data, max_bytes=max_bytes).format
