"""Strict CAP 1.2 XML from a :class:`~sirena.protocol.cap.model.CapMessage`.

Ingest is lenient; emit is strict. :func:`to_xml` writes the elements in the order the OASIS schema requires,
checks every closed value list, every timestamp, language tag, polygon and circle, and refuses (``EmitError``)
anything the schema or the CAP rules would reject instead of writing it. Free text is written as given, except
for the characters XML 1.0 cannot carry at all (control characters other than tab, newline and carriage return,
lone surrogates, U+FFFE/U+FFFF), which are dropped; text that is empty once trimmed is left out, as a reader would
read it as absent anyway.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Final

from lxml import etree

from sirena.protocol.cap import vocabulary as v
from sirena.protocol.cap.model import CapArea, CapInfo, CapMessage, CapResource, Circle, NamedValue, Point, Reference
from sirena.protocol.cap.timestamps import format_timestamp, parse_timestamp

_NOT_XML: Final = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_LANGUAGE: Final = re.compile(r"[a-zA-Z]{1,8}(-[a-zA-Z0-9]{1,8})*")
_RESTRICTED: Final = re.compile(r"[\s,<&]")
_CAP_TIME: Final = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[-+]\d\d:\d\d")


class EmitError(ValueError):
    """The message cannot be written as valid CAP 1.2 (a programming error in the caller, never user input)."""


def clean_text(text: str) -> str:
    """``text`` without the characters XML 1.0 cannot represent."""
    return _NOT_XML.sub("", text)


def number(value: float) -> str:
    """A coordinate or radius in plain positional notation (never ``1e-05``), exact to the float."""
    if not math.isfinite(value):
        raise EmitError(f"not a finite number: {value}")
    if value == 0:
        return "0"
    text = repr(float(value))
    if "e" in text or "E" in text:
        text = format(Decimal(text), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def cap_time(value: datetime) -> str:
    """A timestamp in the only form CAP 1.2 allows (``2026-01-01T10:00:00+00:00``)."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise EmitError("CAP timestamps need a time-zone offset")
    text = format_timestamp(value)
    if not _CAP_TIME.fullmatch(text):
        raise EmitError(f"timestamp out of CAP's range: {text}")
    return text


def cap_list(items: Iterable[str]) -> str:
    """A CAP space-separated list (``addresses``, ``incidents``); items with spaces are quoted."""
    out: list[str] = []
    for item in items:
        item = clean_text(item).replace('"', "")
        if not item.strip():
            continue
        out.append(f'"{item}"' if re.search(r"\s", item) else item)
    return " ".join(out)


def reference_text(refs: Iterable[Reference]) -> str:
    """``references``: ``sender,identifier,sent`` triples separated by spaces."""
    out: list[str] = []
    for ref in refs:
        sent = ref.sent
        if not _CAP_TIME.fullmatch(sent) or parse_timestamp(sent).value is None:
            raise EmitError(f"reference time not in CAP form: {sent!r}")
        for part in (ref.sender, ref.identifier):
            _check_identifier(part, "references")
        out.append(f"{ref.sender},{ref.identifier},{sent}")
    return " ".join(out)


def polygon_text(ring: Iterable[Point]) -> str:
    points = list(ring)
    if len(points) < 4 or points[0] != points[-1]:
        raise EmitError("a CAP polygon needs at least four points, the first repeated last")
    for lat, lon in points:
        _check_point(lat, lon)
    return " ".join(f"{number(lat)},{number(lon)}" for lat, lon in points)


def circle_text(circle: Circle) -> str:
    lat, lon, radius = circle
    _check_point(lat, lon)
    if not (0 <= radius < float("inf")):
        raise EmitError(f"circle radius must be zero or more, not {radius}")
    return f"{number(lat)},{number(lon)} {number(radius)}"


def _check_point(lat: float, lon: float) -> None:
    if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0):
        raise EmitError(f"point out of range: {lat},{lon}")


def _check_identifier(value: str, element: str) -> None:
    if not value or _RESTRICTED.search(value) or clean_text(value) != value:
        raise EmitError(f"{element} must be non-empty, without spaces, commas, '<' or '&': {value!r}")


def _check_enum(element: str, value: str) -> str:
    if value not in v.allowed(element, v.CAP_1_2):
        raise EmitError(f"{element} {value!r} is not one of {', '.join(v.allowed(element, v.CAP_1_2))}")
    return value


class _Writer:
    def __init__(self) -> None:
        self.ns = v.NS_CAP_1_2

    def add(self, parent: etree._Element, name: str, text: str | None) -> etree._Element | None:
        if text is None:
            return None
        cleaned = clean_text(text)
        if not cleaned.strip():
            return None
        child = etree.SubElement(parent, f"{{{self.ns}}}{name}")
        child.text = cleaned
        return child

    def required(self, parent: etree._Element, name: str, text: str) -> None:
        if self.add(parent, name, text) is None:
            raise EmitError(f"{name} must not be empty")

    def named(self, parent: etree._Element, name: str, pairs: Iterable[NamedValue]) -> None:
        for value_name, value in pairs:
            block = etree.SubElement(parent, f"{{{self.ns}}}{name}")
            etree.SubElement(block, f"{{{self.ns}}}valueName").text = clean_text(value_name)
            etree.SubElement(block, f"{{{self.ns}}}value").text = clean_text(value)

    def alert(self, msg: CapMessage) -> etree._Element:
        root = etree.Element(f"{{{self.ns}}}alert", nsmap={None: self.ns})  # type: ignore[dict-item]
        _check_identifier(msg.identifier, "identifier")
        _check_identifier(msg.sender, "sender")
        if msg.sent is None:
            raise EmitError("sent is required")
        self.required(root, "identifier", msg.identifier)
        self.required(root, "sender", msg.sender)
        self.required(root, "sent", cap_time(msg.sent))
        self.required(root, "status", _check_enum("status", msg.status))
        self.required(root, "msgType", _check_enum("msgType", msg.msg_type))
        self.add(root, "source", msg.source)
        self.required(root, "scope", _check_enum("scope", msg.scope))
        if msg.scope == "Restricted" and not (msg.restriction or "").strip():
            raise EmitError("a Restricted message needs a restriction")
        self.add(root, "restriction", msg.restriction)
        self.add(root, "addresses", cap_list(msg.addresses) or None)
        for code in msg.code:
            self.add(root, "code", code)
        self.add(root, "note", msg.note)
        if msg.msg_type in v.REFERENCING_MSG_TYPES and not msg.references:
            raise EmitError(f"a {msg.msg_type} message needs references")
        self.add(root, "references", reference_text(msg.references) or None)
        self.add(root, "incidents", cap_list(msg.incidents) or None)
        for info in msg.infos:
            self.info(root, info)
        return root

    def info(self, parent: etree._Element, info: CapInfo) -> None:
        node = etree.SubElement(parent, f"{{{self.ns}}}info")
        if not _LANGUAGE.fullmatch(info.language):
            raise EmitError(f"not a language tag: {info.language!r}")
        self.required(node, "language", info.language)
        if not info.category:
            raise EmitError("info needs at least one category")
        for category in info.category:
            self.required(node, "category", _check_enum("category", category))
        self.required(node, "event", info.event)
        for response in info.response_type:
            self.required(node, "responseType", _check_enum("responseType", response))
        self.required(node, "urgency", _check_enum("urgency", info.urgency))
        self.required(node, "severity", _check_enum("severity", info.severity))
        self.required(node, "certainty", _check_enum("certainty", info.certainty))
        self.add(node, "audience", info.audience)
        self.named(node, "eventCode", info.event_code)
        for name, moment in (("effective", info.effective), ("onset", info.onset), ("expires", info.expires)):
            if moment is not None:
                self.required(node, name, cap_time(moment))
        self.add(node, "senderName", info.sender_name)
        self.add(node, "headline", info.headline)
        self.add(node, "description", info.description)
        self.add(node, "instruction", info.instruction)
        self.add(node, "web", info.web)
        self.add(node, "contact", info.contact)
        self.named(node, "parameter", info.parameters)
        for resource in info.resources:
            self.resource(node, resource)
        for area in info.areas:
            self.area(node, area)

    def resource(self, parent: etree._Element, resource: CapResource) -> None:
        node = etree.SubElement(parent, f"{{{self.ns}}}resource")
        self.required(node, "resourceDesc", resource.resource_desc)
        self.required(node, "mimeType", resource.mime_type)
        if resource.size is not None:
            if resource.size < 0:
                raise EmitError("resource size must not be negative")
            self.required(node, "size", str(resource.size))
        self.add(node, "uri", resource.uri)
        self.add(node, "derefUri", resource.deref_uri)
        self.add(node, "digest", resource.digest)

    def area(self, parent: etree._Element, area: CapArea) -> None:
        node = etree.SubElement(parent, f"{{{self.ns}}}area")
        self.required(node, "areaDesc", area.area_desc)
        for ring in area.polygons:
            self.required(node, "polygon", polygon_text(ring))
        for circle in area.circles:
            self.required(node, "circle", circle_text(circle))
        self.named(node, "geocode", area.geocodes)
        if area.ceiling is not None and area.altitude is None:
            raise EmitError("ceiling needs altitude")
        for name, height in (("altitude", area.altitude), ("ceiling", area.ceiling)):
            if height is not None:
                self.required(node, name, number(height))


def to_element(msg: CapMessage) -> etree._Element:
    """The ``alert`` element of ``msg`` (CAP 1.2 namespace)."""
    return _Writer().alert(msg)


def to_xml(msg: CapMessage, *, pretty: bool = True) -> bytes:
    """``msg`` as a CAP 1.2 XML document (UTF-8, with an XML declaration), valid against the OASIS schema."""
    return bytes(etree.tostring(to_element(msg), xml_declaration=True, encoding="UTF-8", pretty_print=pretty))
