"""One neutral tree for CAP read from XML or from CAP-JSON, so both are read by the same code.

A :class:`Node` is an element: its CAP name, its text, its child elements, a readable path
(``/alert/info[1]/area[2]/polygon[1]``) and, for XML, its source line. JSON arrays become repeated children and
JSON scalars become text.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from lxml import etree

from sirena.protocol.cap.vocabulary import REPEATABLE_ELEMENTS


@dataclass(frozen=True, slots=True)
class Node:
    name: str
    #: The element's text ("" when empty); ``None`` only for a JSON ``null``.
    text: str | None
    children: tuple[Node, ...]
    path: str
    line: int | None = None
    #: The JSON type when a JSON value of the wrong kind stood here (``"object"``, ``"array"``), else ``None``.
    json_kind: str | None = None
    #: True when a JSON scalar stood where CAP-JSON writes an array.
    json_unwrapped: bool = False

    def all(self, name: str) -> Iterator[Node]:
        return (c for c in self.children if c.name == name)

    def first(self, name: str) -> Node | None:
        return next(self.all(name), None)


def line_of(element: etree._Element) -> int | None:
    """The source line of ``element`` (``None`` when lxml does not know it)."""
    line = element.sourceline
    return line if isinstance(line, int) else None


def _step(name: str, index: int, count: int) -> str:
    return f"{name}[{index}]" if name in REPEATABLE_ELEMENTS or count > 1 else name


def element_path(element: etree._Element) -> str:
    """A readable path of ``element`` from its document root, by local name (``/feed/entry[2]/content/alert``)."""
    steps: list[str] = []
    node: etree._Element | None = element
    while node is not None:
        name = etree.QName(node).localname
        parent = node.getparent()
        if parent is None:
            steps.append(name)
        else:
            same = [c for c in parent if isinstance(c.tag, str) and c.tag == node.tag]
            steps.append(_step(name, same.index(node) + 1, len(same)))
        node = parent
    return "/" + "/".join(reversed(steps))


def without_namespace(alert: etree._Element) -> etree._Element | None:
    """The first element inside ``alert`` that is in no namespace (``<cap:alert>`` with unprefixed children)."""
    return next((e for e in alert.iter() if isinstance(e.tag, str) and etree.QName(e).namespace is None), None)


def _own_text(element: etree._Element) -> str:
    """The element's own text, joined across comments and processing instructions."""
    parts = [element.text or ""]
    parts += [child.tail or "" for child in element if not isinstance(child.tag, str)]
    return "".join(parts)


def from_xml(element: etree._Element, path: str | None = None) -> Node:
    """The tree of the CAP element ``element``; only children in its own namespace, or in none, are kept."""
    path = path or element_path(element)
    namespace = etree.QName(element).namespace
    kids = [c for c in element if isinstance(c.tag, str) and etree.QName(c).namespace in (namespace, None)]
    totals: dict[str, int] = {}
    for kid in kids:
        name = etree.QName(kid).localname
        totals[name] = totals.get(name, 0) + 1
    seen: dict[str, int] = {}
    children: list[Node] = []
    for kid in kids:
        name = etree.QName(kid).localname
        seen[name] = seen.get(name, 0) + 1
        children.append(from_xml(kid, f"{path}/{_step(name, seen[name], totals[name])}"))
    return Node(
        name=etree.QName(element).localname,
        text=_own_text(element),
        children=tuple(children),
        path=path,
        line=line_of(element),
    )


def _scalar(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def from_json(value: object, name: str = "alert", path: str = "/alert") -> Node:
    """The tree of a CAP-JSON object (``value`` is the parsed JSON)."""
    if not isinstance(value, dict):
        kind = "array" if isinstance(value, list) else None
        return Node(name=name, text=None if kind else _scalar(value), children=(), path=path, json_kind=kind)
    children: list[Node] = []
    for key, item in value.items():
        key = str(key)
        if isinstance(item, list):
            for index, element in enumerate(item, start=1):
                step = _step(key, index, len(item))
                children.append(_json_child(element, key, f"{path}/{step}"))
        else:
            step = _step(key, 1, 1)
            child = _json_child(item, key, f"{path}/{step}")
            if key in REPEATABLE_ELEMENTS:
                child = Node(child.name, child.text, child.children, child.path, None, child.json_kind, True)
            children.append(child)
    return Node(name=name, text=None, children=tuple(children), path=path)


def _json_child(item: object, key: str, path: str) -> Node:
    if isinstance(item, dict):
        node = from_json(item, key, path)
        return Node(node.name, None, node.children, path, None, "object")
    if isinstance(item, list):
        return Node(key, None, (), path, None, "array")
    return Node(key, _scalar(item), (), path)
