"""An Atom (RFC 4287) feed of CAP messages: one entry per alert, linking to its CAP 1.2 XML and CAP-JSON.

Pure: entries in, bytes out. Ingest reads such a feed back (the ``application/cap+xml`` link of each entry is the
one it reports), so one Sirena can follow another.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

from lxml import etree

from sirena.protocol.cap.emit import clean_text

NS_ATOM: Final = "http://www.w3.org/2005/Atom"
MIME_ATOM: Final = "application/atom+xml"


@dataclass(frozen=True, slots=True)
class Link:
    href: str
    rel: str = "alternate"
    type: str | None = None
    title: str | None = None


@dataclass(frozen=True, slots=True)
class Entry:
    id: str
    title: str
    updated: datetime
    published: datetime | None = None
    summary: str | None = None
    links: tuple[Link, ...] = ()
    categories: tuple[str, ...] = ()


def atom_time(value: datetime) -> str:
    """RFC 3339 in UTC with milliseconds (``2026-01-01T10:00:00.000Z``)."""
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def _add(parent: etree._Element, name: str, text: str | None = None, **attrs: str | None) -> etree._Element:
    element = etree.SubElement(parent, f"{{{NS_ATOM}}}{name}")
    for key, value in attrs.items():
        if value is not None:
            element.set(key, clean_text(value))
    if text is not None:
        element.text = clean_text(text)
    return element


def _link(parent: etree._Element, link: Link) -> None:
    _add(parent, "link", href=link.href, rel=link.rel, type=link.type, title=link.title)


def atom_feed(
    *,
    feed_id: str,
    title: str,
    updated: datetime,
    author: str,
    entries: Sequence[Entry],
    links: Sequence[Link] = (),
    lang: str | None = None,
    generator: str | None = None,
) -> bytes:
    """The feed as UTF-8 XML. ``updated`` is when the feed last changed (not only its newest entry: an alert
    that ended leaves the feed, which changes it too)."""
    root = etree.Element(f"{{{NS_ATOM}}}feed", nsmap={None: NS_ATOM})  # type: ignore[dict-item]
    if lang:
        root.set("{http://www.w3.org/XML/1998/namespace}lang", lang)
    _add(root, "id", feed_id)
    _add(root, "title", title)
    _add(root, "updated", atom_time(updated))
    author_element = _add(root, "author")
    _add(author_element, "name", author)
    if generator:
        _add(root, "generator", generator)
    for link in links:
        _link(root, link)
    for entry in entries:
        node = _add(root, "entry")
        _add(node, "id", entry.id)
        _add(node, "title", entry.title or entry.id)
        _add(node, "updated", atom_time(entry.updated))
        if entry.published is not None:
            _add(node, "published", atom_time(entry.published))
        for term in entry.categories:
            _add(node, "category", term=term)
        if entry.summary:
            _add(node, "summary", entry.summary)
        for link in entry.links:
            _link(node, link)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))
