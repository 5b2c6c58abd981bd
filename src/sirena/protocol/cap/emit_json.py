"""CAP-JSON in the shape Germany's NINA/MoWaS API publishes, which :func:`~sirena.protocol.cap.ingest` reads.

Keys are CAP element names; the repeatable elements (``info``, ``category``, ``responseType``, ``eventCode``,
``parameter``, ``resource``, ``area``, ``polygon``, ``circle``, ``geocode``, ``code``) are always arrays;
``valueName``/``value`` pairs are objects; ``references``, ``addresses`` and ``incidents`` are strings, as in XML.
The document is made from the same checked element tree as the XML, so both always say the same thing.
"""

from __future__ import annotations

import json
from typing import Any

from lxml import etree

from sirena.protocol.cap.emit import to_element
from sirena.protocol.cap.model import CapMessage
from sirena.protocol.cap.vocabulary import REPEATABLE_ELEMENTS


def _value(element: etree._Element) -> Any:
    children = [c for c in element if isinstance(c.tag, str)]
    if not children:
        return element.text or ""
    out: dict[str, Any] = {}
    for child in children:
        name = etree.QName(child).localname
        value = _value(child)
        if name in REPEATABLE_ELEMENTS:
            out.setdefault(name, []).append(value)
        else:
            out[name] = value
    return out


def to_json_dict(msg: CapMessage) -> dict[str, Any]:
    """``msg`` as a CAP-JSON object (checked exactly as :func:`~sirena.protocol.cap.emit.to_xml` checks it)."""
    value = _value(to_element(msg))
    assert isinstance(value, dict)
    return value


def to_json(msg: CapMessage) -> bytes:
    """``msg`` as CAP-JSON text, UTF-8, non-ASCII characters written as they are."""
    return json.dumps(to_json_dict(msg), ensure_ascii=False, separators=(",", ":")).encode("utf-8")
