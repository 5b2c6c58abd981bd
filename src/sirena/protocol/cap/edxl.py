"""CAP inside an EDXL-DE distribution (the envelope IPAWS and other alerting hubs pass CAP around in).

Each ``contentObject`` either embeds a CAP ``alert`` (in ``xmlContent/embeddedXMLContent``), which is read like any
CAP document, or carries other content (``nonXMLContent``): its ``uri`` is reported for the caller to fetch, and
content given inline is not read (a warning says so). Nothing is fetched here.
"""

from __future__ import annotations

from typing import Final

from lxml import etree

from sirena.protocol.cap.feed import FeedContent, embedded_alerts
from sirena.protocol.cap.issues import IssueLog
from sirena.protocol.cap.tree import element_path, line_of

NS_EDXL_DE: Final = ("urn:oasis:names:tc:emergency:EDXL:DE:1.0", "urn:oasis:names:tc:emergency:EDXL:DE:2.0")


def is_distribution(root: etree._Element) -> bool:
    qname = etree.QName(root)
    return qname.localname == "EDXLDistribution" and qname.namespace in NS_EDXL_DE


def _uri(content: etree._Element) -> str | None:
    namespace = etree.QName(content).namespace
    for uri in content.iter(f"{{{namespace}}}uri"):
        if uri.text and uri.text.strip():
            return uri.text.strip()
    return None


def read_distribution(root: etree._Element, log: IssueLog) -> FeedContent:
    """The alerts embedded in an EDXL-DE distribution, and the links of its content objects that embed none."""
    namespace = etree.QName(root).namespace
    links: list[str] = []
    for content in root.iter(f"{{{namespace}}}contentObject"):
        if embedded_alerts(content):
            continue
        link = _uri(content)
        if link is None:
            log.warning("edxl_content_not_read", element_path(content), line_of(content))
        elif link not in links:
            links.append(link)
    return FeedContent(alerts=tuple(embedded_alerts(root)), links=tuple(links))
