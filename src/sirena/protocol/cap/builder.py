"""The neutral CAP tree to frozen :mod:`model` objects, checking what the schema cannot.

Checks made here, each logged with the element's path: empty required values, closed value lists (wrong case is
repaired, unknown values are errors), timestamps, ``references`` (present where the message type needs them, each a
sender,identifier,sent triple), numbers, and the geometry checks of :mod:`geometry`. Where no schema ran (CAP-JSON,
CAP 1.0) missing required elements are reported too.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from typing import Final

from sirena.protocol.cap import vocabulary as v
from sirena.protocol.cap.geometry import read_circle, read_polygon
from sirena.protocol.cap.issues import IssueLog
from sirena.protocol.cap.model import (
    CapArea,
    CapInfo,
    CapMessage,
    CapResource,
    Circle,
    NamedValue,
    Point,
    Reference,
)
from sirena.protocol.cap.timestamps import format_timestamp, parse_timestamp
from sirena.protocol.cap.tree import Node

_LIST_ITEM: Final = re.compile(r'"([^"]*)"|(\S+)')
_RESTRICTED: Final = re.compile(r"[\s,<&]")


def split_list(text: str) -> tuple[str, ...]:
    """A CAP space-separated list; items with spaces are written in double quotes."""
    return tuple(m.group(1) if m.group(1) is not None else m.group(2) for m in _LIST_ITEM.finditer(text))


def read_references(
    text: str, log: IssueLog, path: str, line: int | None, version: str | None
) -> tuple[Reference, ...]:
    """Parse ``references``: whitespace-separated ``sender,identifier,sent`` triples."""
    found: list[Reference] = []
    for token in text.split():
        parts = token.split(",")
        if len(parts) == 1 and version == v.CAP_1_0:
            log.warning("reference_identifier_only", path, line, value=token)
            found.append(Reference(sender="", identifier=token, sent=""))
            continue
        if len(parts) != 3 or not all(parts):
            log.error("reference_malformed", path, line, value=token[:120])
            continue
        sender, identifier, sent_text = parts
        parsed = parse_timestamp(sent_text)
        if parsed.value is None:
            log.error("reference_malformed", path, line, value=token[:120])
            found.append(Reference(sender=sender, identifier=identifier, sent=sent_text))
        else:
            found.append(Reference(sender, identifier, format_timestamp(parsed.value), parsed.value))
    return tuple(found)


class Builder:
    """Reads one CAP alert tree; a new builder per alert."""

    def __init__(self, log: IssueLog, version: str | None, *, from_json: bool, check_required: bool) -> None:
        self.log = log
        self.version = version
        self.from_json = from_json
        self.check_required = check_required

    # -- generic element access --------------------------------------------------------------------------------

    def _all(self, parent: Node, name: str) -> Iterator[Node]:
        for node in parent.all(name):
            if node.json_unwrapped:
                self.log.repair("json_single_value", node.path, node.line, element=name)
            yield node

    def _blocks(self, parent: Node, name: str) -> Iterator[Node]:
        for node in self._all(parent, name):
            if self.from_json and node.json_kind != "object":
                self.log.error("json_type", node.path, node.line, element=name, kind=node.json_kind or "text")
                continue
            yield node

    def _missing(self, parent: Node, name: str) -> None:
        if self.check_required:
            self.log.error("required_missing", parent.path, parent.line, element=name)

    def _leaf(self, node: Node) -> str | None:
        if node.json_kind is not None:
            self.log.error("json_type", node.path, node.line, element=node.name, kind=node.json_kind)
            return None
        return None if node.text is None else node.text.strip()

    def _optional(self, parent: Node, name: str) -> str | None:
        node = parent.first(name)
        value = None if node is None else self._leaf(node)
        return value or None

    def _required(self, parent: Node, name: str) -> str:
        node = parent.first(name)
        value = None if node is None else self._leaf(node)
        if node is None or value is None:
            self._missing(parent, name)
            return ""
        if not value:
            self.log.error("value_empty", node.path, node.line, element=name)
        return value

    def _present(self, parent: Node, name: str) -> str:
        """A required element whose value may be empty (``valueName``/``value`` pairs)."""
        node = parent.first(name)
        value = None if node is None else self._leaf(node)
        if value is None:
            self._missing(parent, name)
            return ""
        return value

    def _enum_value(self, node: Node, name: str, value: str) -> str:
        allowed = v.allowed(name, self.version)
        if value in allowed:
            return value
        folded = {a.casefold(): a for a in allowed}
        fixed = folded.get(" ".join(value.split()).casefold())
        if fixed is not None:
            self.log.repair("enum_case", node.path, node.line, element=name, value=value, fixed=fixed)
            return fixed
        self.log.error("enum_unknown", node.path, node.line, element=name, value=value[:60])
        return value

    def _enum(self, parent: Node, name: str) -> str:
        node = parent.first(name)
        value = None if node is None else self._leaf(node)
        if node is None or value is None:
            self._missing(parent, name)
            return ""
        if not value:
            self.log.error("value_empty", node.path, node.line, element=name)
            return ""
        return self._enum_value(node, name, value)

    def _enums(self, parent: Node, name: str, *, required: bool) -> tuple[str, ...]:
        values: list[str] = []
        for node in self._all(parent, name):
            value = self._leaf(node)
            if value is None:
                continue
            if not value:
                self.log.error("value_empty", node.path, node.line, element=name)
                continue
            values.append(self._enum_value(node, name, value))
        if required and not values and parent.first(name) is None:
            self._missing(parent, name)
        return tuple(values)

    def _texts(self, parent: Node, name: str) -> tuple[str, ...]:
        values = (self._leaf(node) for node in self._all(parent, name))
        return tuple(value for value in values if value)

    def _named(self, parent: Node, name: str) -> tuple[NamedValue, ...]:
        pairs: list[NamedValue] = []
        for node in self._blocks(parent, name):
            pairs.append((self._present(node, "valueName"), self._present(node, "value")))
        return tuple(pairs)

    def _time(self, parent: Node, name: str, *, required: bool) -> tuple[datetime | None, str]:
        node = parent.first(name)
        text = None if node is None else self._leaf(node)
        if node is None or text is None:
            if required:
                self._missing(parent, name)
            return None, ""
        if not text:
            if required or self.check_required:
                self.log.error("value_empty", node.path, node.line, element=name)
            return None, ""
        parsed = parse_timestamp(text)
        if parsed.problem == "timestamp_invalid":
            self.log.error("timestamp_invalid", node.path, node.line, element=name, value=text[:40])
        elif parsed.problem == "timestamp_no_offset":
            self.log.error("timestamp_no_offset", node.path, node.line, element=name, value=text[:40])
            self.log.repair("timestamp_assumed_utc", node.path, node.line, element=name)
        elif parsed.problem == "timestamp_format":
            self.log.warning("timestamp_format", node.path, node.line, element=name, value=text[:40])
        return parsed.value, text

    def _number(self, parent: Node, name: str) -> float | None:
        node = parent.first(name)
        text = None if node is None else self._leaf(node)
        if node is None or not text:
            return None
        try:
            return float(text)
        except ValueError:
            self.log.error("number_invalid", node.path, node.line, element=name, value=text[:40])
            return None

    def _identifier(self, parent: Node, name: str) -> str:
        value = self._required(parent, name)
        if value and _RESTRICTED.search(value):
            node = parent.first(name)
            path, line = (node.path, node.line) if node is not None else (parent.path, parent.line)
            self.log.warning("identifier_characters", path, line, element=name, value=value[:80])
        return value

    # -- CAP blocks ----------------------------------------------------------------------------------------------

    def message(self, alert: Node) -> CapMessage:
        identifier = self._identifier(alert, "identifier")
        sender = self._identifier(alert, "sender")
        sent, sent_text = self._time(alert, "sent", required=True)
        status = self._enum(alert, "status")
        msg_type = self._enum(alert, "msgType")
        scope = self._enum(alert, "scope")
        references: tuple[Reference, ...] = ()
        ref_node = alert.first("references")
        ref_text = None if ref_node is None else self._leaf(ref_node)
        if ref_node is not None and ref_text:
            references = read_references(ref_text, self.log, ref_node.path, ref_node.line, self.version)
        if msg_type in v.REFERENCING_MSG_TYPES and not references:
            self.log.error("references_missing", alert.path, alert.line, msg_type=msg_type)
        source = self._optional(alert, "source")
        restriction = self._optional(alert, "restriction")
        addresses = self._optional(alert, "addresses")
        code = self._texts(alert, "code")
        note = self._optional(alert, "note")
        incidents = self._optional(alert, "incidents")
        infos = tuple(self.info(node) for node in self._blocks(alert, "info"))
        return CapMessage(
            identifier=identifier,
            sender=sender,
            sent=sent,
            status=status,
            msg_type=msg_type,
            scope=scope,
            source=source,
            restriction=restriction,
            addresses=split_list(addresses) if addresses else (),
            code=code,
            note=note,
            references=references,
            incidents=split_list(incidents) if incidents else (),
            infos=infos,
            version=self.version,
            sent_text=sent_text,
        )

    def info(self, node: Node) -> CapInfo:
        return CapInfo(
            language=self._optional(node, "language") or v.DEFAULT_LANGUAGE,
            category=self._enums(node, "category", required=True),
            event=self._required(node, "event"),
            response_type=self._enums(node, "responseType", required=False),
            urgency=self._enum(node, "urgency"),
            severity=self._enum(node, "severity"),
            certainty=self._enum(node, "certainty"),
            audience=self._optional(node, "audience"),
            event_code=self._named(node, "eventCode"),
            effective=self._time(node, "effective", required=False)[0],
            onset=self._time(node, "onset", required=False)[0],
            expires=self._time(node, "expires", required=False)[0],
            sender_name=self._optional(node, "senderName"),
            headline=self._optional(node, "headline"),
            description=self._optional(node, "description"),
            instruction=self._optional(node, "instruction"),
            web=self._optional(node, "web"),
            contact=self._optional(node, "contact"),
            parameters=self._named(node, "parameter"),
            resources=tuple(self.resource(r) for r in self._blocks(node, "resource")),
            areas=tuple(self.area(a) for a in self._blocks(node, "area")),
        )

    def resource(self, node: Node) -> CapResource:
        size_value = self._number(node, "size")
        size = int(size_value) if size_value is not None and size_value.is_integer() else None
        if size_value is not None and size is None:
            self.log.error("number_invalid", node.path, node.line, element="size", value=size_value)
        return CapResource(
            resource_desc=self._required(node, "resourceDesc"),
            mime_type=self._required(node, "mimeType"),
            size=size,
            uri=self._optional(node, "uri"),
            deref_uri=self._optional(node, "derefUri"),
            digest=self._optional(node, "digest"),
        )

    def area(self, node: Node) -> CapArea:
        polygons: list[tuple[Point, ...]] = []
        for child in self._all(node, "polygon"):
            text = self._leaf(child)
            points = read_polygon(text or "", self.log, child.path, child.line)
            if points is not None:
                polygons.append(points)
        circles: list[Circle] = []
        for child in self._all(node, "circle"):
            text = self._leaf(child)
            circle = read_circle(text or "", self.log, child.path, child.line)
            if circle is not None:
                circles.append(circle)
        altitude = self._number(node, "altitude")
        ceiling = self._number(node, "ceiling")
        if ceiling is not None and altitude is None:
            self.log.warning("ceiling_without_altitude", node.path, node.line)
        return CapArea(
            area_desc=self._required(node, "areaDesc"),
            polygons=tuple(polygons),
            circles=tuple(circles),
            geocodes=self._named(node, "geocode"),
            altitude=altitude,
            ceiling=ceiling,
        )
