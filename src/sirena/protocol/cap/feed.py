"""CAP inside Atom and RSS 2.0: the alerts embedded in entries, and the links of entries that only point to CAP.

An entry (Atom) or item (RSS) either embeds a CAP ``alert`` element (usually in ``content``), which is read like
any CAP document, or links to one: its link is reported for the caller to fetch. Nothing is fetched here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from lxml import etree

from sirena.protocol.cap import vocabulary as v
from sirena.protocol.cap.issues import IssueLog
from sirena.protocol.cap.tree import element_path, line_of

_ATOM_ENTRY = f"{{{v.NS_ATOM}}}entry"
_ATOM_LINK = f"{{{v.NS_ATOM}}}link"
_ATOM_CONTENT = f"{{{v.NS_ATOM}}}content"
_ESCAPED_ALERT: Final = re.compile(r"<(?:[A-Za-z_][\w.-]*:)?alert[\s>]")


@dataclass(frozen=True, slots=True)
class FeedContent:
    alerts: tuple[etree._Element, ...]
    links: tuple[str, ...]


def is_cap_alert(element: etree._Element) -> bool:
    qname = etree.QName(element)
    return qname.localname == "alert" and v.version_of(qname.namespace) is not None


def embedded_alerts(container: etree._Element) -> list[etree._Element]:
    """The CAP alerts anywhere inside ``container``."""
    return [e for e in container.iter() if isinstance(e.tag, str) and is_cap_alert(e)]


def _atom_link(entry: etree._Element) -> str | None:
    links = [link for link in entry.iter(_ATOM_LINK) if link.get("href")]
    content = entry.find(_ATOM_CONTENT)
    if content is not None and content.get("src"):
        return content.get("src")
    for wanted in (
        lambda link: link.get("type") == v.MIME_CAP_XML,
        lambda link: link.get("rel") in (None, "alternate"),
        lambda link: True,
    ):
        match = next((link for link in links if wanted(link)), None)
        if match is not None:
            return match.get("href")
    return None


def _rss_link(item: etree._Element) -> str | None:
    for enclosure in item.iter("enclosure"):
        if enclosure.get("type") == v.MIME_CAP_XML and enclosure.get("url"):
            return enclosure.get("url")
    link = item.findtext("link")
    return link.strip() if link and link.strip() else None


def _escaped(entry: etree._Element, log: IssueLog) -> None:
    for element in entry.iter():
        if isinstance(element.tag, str) and element.text and _ESCAPED_ALERT.search(element.text):
            log.warning("feed_escaped_content", element_path(element), line_of(element))
            return


def read_feed(root: etree._Element, log: IssueLog) -> FeedContent:
    """The embedded alerts and the links to CAP of an Atom feed (or entry) or an RSS 2.0 document."""
    atom = etree.QName(root).namespace == v.NS_ATOM
    if not atom:
        entries = list(root.iter("item"))
    elif root.tag == _ATOM_ENTRY:
        entries = [root]
    else:
        entries = list(root.iter(_ATOM_ENTRY))
    alerts: list[etree._Element] = []
    links: list[str] = []
    for entry in entries:
        found = embedded_alerts(entry)
        if found:
            alerts.extend(found)
            continue
        _escaped(entry, log)
        link = _atom_link(entry) if atom else _rss_link(entry)
        if link and link not in links:
            links.append(link)
    return FeedContent(alerts=tuple(alerts), links=tuple(links))
