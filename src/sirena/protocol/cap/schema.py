"""Validation against the OASIS CAP schemas shipped in ``sirena/data/cap`` (1.2 and 1.1).

Each schema is compiled once per process, from package data, with a parser that reaches no network; the CAP
schemas import nothing (the ``ds:Signature`` slot of CAP 1.2 is a lax wildcard). Validation is a report: every
schema error becomes an issue with its line and the path of the element.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from functools import cache
from importlib import resources
from typing import Any, Final, cast

from lxml import etree

from sirena.protocol.cap import vocabulary as v
from sirena.protocol.cap.document import hardened_parser
from sirena.protocol.cap.issues import IssueLog
from sirena.protocol.cap.tree import element_path, line_of

SCHEMA_FILES: Final = ((v.CAP_1_2, "CAP-v1.2.xsd"), (v.CAP_1_1, "CAP-v1.1.xsd"))
_CLARK: Final = re.compile(r"\{[^{}\s']+\}")


def schema_file(version: str) -> str | None:
    return next((name for known, name in SCHEMA_FILES if known == version), None)


@cache
def compiled(version: str) -> tuple[etree.XMLSchema, threading.Lock] | None:
    """The compiled schema of CAP ``version`` and the lock that guards its error log (``None``: none shipped)."""
    name = schema_file(version)
    if name is None:
        return None
    source = (resources.files("sirena") / "data" / "cap" / name).read_bytes()
    document = etree.fromstring(source, hardened_parser())
    return etree.XMLSchema(document), threading.Lock()


def _element_at(alert: etree._Element, xpath: str | None) -> etree._Element | None:
    """The element a libxml2 error path (``/*/*[7]/*[8]``, or ``/cap:alert/cap:info`` for a prefixed document,
    rooted at the validated alert) points to."""
    if not xpath or not xpath.startswith("/"):
        return None
    rest = xpath[1:].partition("/")[2]
    if not rest:
        return alert
    # libxml2 names elements of other namespaces by the document's own prefix (``/*/capcp:ext``)
    prefixes = (
        {p: ns for e in alert.iter() if isinstance(e.tag, str) for p, ns in e.nsmap.items() if p} if ":" in rest else {}
    )
    try:
        found = alert.xpath(rest, namespaces=prefixes)
    except etree.XPathError:
        return None
    if isinstance(found, list) and found and isinstance(found[0], etree._Element):
        return found[0]
    return None


def validate(alert: etree._Element, version: str, log: IssueLog) -> bool | None:
    """Validate the ``alert`` element; ``None`` when no schema for ``version`` is shipped."""
    schema = compiled(version)
    if schema is None:
        log.warning("schema_unavailable", element_path(alert), line_of(alert), version=version)
        return None
    validator, lock = schema
    with lock:
        valid = validator.validate(alert)
        entries = list(cast(Iterable[Any], validator.error_log))
    for entry in entries:
        element = _element_at(alert, entry.path)
        path = element_path(element) if element is not None else None
        detail = _CLARK.sub("", entry.message)
        log.error("schema", path, entry.line or None, detail=detail)
    return bool(valid)
