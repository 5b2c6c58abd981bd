"""CAP inside an EDXL-DE distribution (the envelope IPAWS and other alerting hubs pass CAP around in).

Each ``contentObject`` either embeds a CAP ``alert`` (in ``xmlContent/embeddedXMLContent``), which is read like any
CAP document, or carries other content (``nonXMLContent``). When that content is CAP (its ``mimeType`` is CAP or
XML, or not given), its ``uri`` is reported for the caller to fetch, and CAP given inline (``contentData``) is not
read (a warning says so). Other content, such as a map, belongs to the alert and is left alone. Nothing is fetched.
"""

from __future__ import annotations

from typing import Final

from lxml import etree

from sirena.protocol.cap import vocabulary as v
from sirena.protocol.cap.feed import FeedContent, embedded_alerts
from sirena.protocol.cap.issues import IssueLog
from sirena.protocol.cap.tree import element_path, line_of

NS_EDXL_DE: Final = ("urn:oasis:names:tc:emergency:EDXL:DE:1.0", "urn:oasis:names:tc:emergency:EDXL:DE:2.0")
_CAP_TYPES: Final = frozenset({v.MIME_CAP_XML, "application/xml", "text/xml"})


def is_distribution(root: etree._Element) -> bool:
    qname = etree.QName(root)
    return qname.localname == "EDXLDistribution" and qname.namespace in NS_EDXL_DE


def _text(content: etree._Element, name: str) -> str | None:
    namespace = etree.QName(content).namespace
    for element in content.iter(f"{{{namespace}}}{name}"):
        if element.text and element.text.strip():
            return element.text.strip()
    return None


def read_distribution(root: etree._Element, log: IssueLog) -> FeedContent:
    """The alerts embedded in an EDXL-DE distribution, and the links of its content objects that point to CAP."""
    namespace = etree.QName(root).namespace
    links: list[str] = []
    for content in root.iter(f"{{{namespace}}}contentObject"):
        if embedded_alerts(content) or content.find(f"{{{namespace}}}nonXMLContent") is None:
            continue
        mime_type = (_text(content, "mimeType") or v.MIME_CAP_XML).split(";")[0].strip().lower()
        if mime_type not in _CAP_TYPES:
            continue
        link = _text(content, "uri")
        if link is None:
            log.warning("edxl_content_not_read", element_path(content), line_of(content))
        elif link not in links:
            links.append(link)
    return FeedContent(alerts=tuple(embedded_alerts(root)), links=tuple(links))
