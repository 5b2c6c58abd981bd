"""Bytes to a parsed XML tree or JSON value, safely.

XML: the size is checked first; the encoding is worked out from the byte-order mark and the XML declaration and
the bytes are decoded strictly (so a wrong encoding is an error, not mojibake); any DTD (``<!DOCTYPE``) or other
markup declaration in the prolog is refused before the parser sees the text; then lxml parses with entity
resolution, DTD loading and network access off and the huge-tree limits on. Nothing is ever fetched.
"""

from __future__ import annotations

import codecs
import json
import re
from typing import Any, Final

from lxml import etree

from sirena.protocol.cap.errors import DocumentTooLarge, MalformedDocument, UndecodableDocument, UnsafeDocument
from sirena.protocol.cap.issues import IssueLog
from sirena.protocol.cap.tree import line_of

DEFAULT_MAX_BYTES: Final = 1 << 20

_BOMS: Final = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_NO_BOM: Final = (
    (b"\x00\x00\x00<", "utf-32-be"),
    (b"<\x00\x00\x00", "utf-32-le"),
    (b"\x00<\x00", "utf-16-be"),
    (b"<\x00", "utf-16-le"),
)
_DECLARATION: Final = re.compile(r"""<\?xml\s[^>]*?encoding\s*=\s*(["'])([A-Za-z][A-Za-z0-9._:-]*)\1""")
_DECLARATION_START: Final = re.compile(r"[ \t\r\n]*<\?xml[ \t\r\n]")
#: Python codecs that are not character sets: a document declaring one is refused as an unknown encoding.
_NOT_CHARSETS: Final = frozenset({"idna", "punycode", "unicode-escape", "raw-unicode-escape"})
_HEAD_BYTES: Final = 512


def hardened_parser() -> etree.XMLParser:
    """A parser that expands no entities, loads no DTD, reaches no network and keeps lxml's size limits."""
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
    )


def check_size(data: bytes, max_bytes: int) -> None:
    if len(data) > max_bytes:
        raise DocumentTooLarge("cap.too_large", size=len(data), limit=max_bytes)


def byte_order_mark(data: bytes) -> tuple[str | None, int]:
    """The encoding a byte-order mark announces and the mark's length (``(None, 0)`` without one)."""
    for bom, name in _BOMS:
        if data.startswith(bom):
            return name, len(bom)
    return None, 0


def sniff_text(data: bytes, limit: int = 64) -> str:
    """The first characters of ``data``, decoded leniently in the family its first bytes suggest."""
    family, skip = byte_order_mark(data)
    if family is None:
        family = next((name for prefix, name in _NO_BOM if data.startswith(prefix)), "utf-8")
    return data[skip : skip + limit * 4].decode(family, errors="replace")


def _family(name: str) -> str:
    """``utf-16-le`` and ``utf-16`` are one family for comparing a declaration with a byte-order mark."""
    return name.replace("-le", "").replace("-be", "").replace("_", "-")


def _codec_name(encoding: str) -> str:
    try:
        "<".encode(encoding)  # LookupError for unknown names and for codecs that are not text encodings
        name = codecs.lookup(encoding).name
    except (LookupError, UnicodeError):
        name = None
    if name is None or name in _NOT_CHARSETS:
        raise UndecodableDocument("cap.unknown_encoding", encoding=encoding) from None
    return name


def decode_xml(data: bytes, log: IssueLog) -> str:
    """The XML text of ``data``; encoding problems are raised or, when harmless, logged as warnings."""
    bom, skip = byte_order_mark(data)
    unmarked = None if bom else next((name for prefix, name in _NO_BOM if data.startswith(prefix)), None)
    head = data[skip : skip + _HEAD_BYTES].decode(bom or unmarked or "utf-8", errors="replace")
    opening = _DECLARATION_START.match(head)
    lead = opening.end() - len("<?xml ") if opening else 0
    match = _DECLARATION.match(head, lead)
    declared = match.group(2) if match else None
    effective = bom or unmarked or "utf-8"
    if declared is not None:
        declared_codec = _codec_name(declared)
        if bom is not None:
            if _family(declared_codec) != _family(bom):
                log.warning("encoding_mismatch", declared=declared, detected=bom)
        elif unmarked is not None:
            if _family(declared_codec) != _family(unmarked):
                raise UndecodableDocument("cap.encoding_conflict", declared=declared, detected=unmarked)
        elif declared_codec.startswith(("utf-16", "utf-32")):
            raise UndecodableDocument("cap.encoding_conflict", declared=declared, detected="ASCII-compatible")
        else:
            effective = declared_codec
    body = data[skip:]
    try:
        text = body.decode(effective, errors="strict")
    except UnicodeDecodeError as exc:
        line = body[: exc.start].count(b"\n") + 1
        raise UndecodableDocument("cap.undecodable", encoding=effective, line=line, offset=exc.start) from None
    if not effective.startswith("utf") and not body.isascii():
        try:
            body.decode("utf-8", errors="strict")
        except UnicodeDecodeError:
            pass
        else:
            log.warning("encoding_suspect", declared=declared or effective)
    if match is not None:
        # The text is handed to the parser as UTF-8, so the declaration must say so (same line, same length of
        # lines: line numbers are unchanged).
        start, end = match.span(2)
        text = text[:start] + "UTF-8" + text[end:]
    if lead:
        # XML allows nothing before the declaration, but feeds often send a blank line first. The blanks are
        # dropped and their line ends moved inside the declaration, so the lines of everything after it stay.
        blank, text = text[:lead], text[lead:]
        close = text.find("?>")
        text = text[:close] + "\n" * blank.count("\n") + text[close:]
        log.warning("declaration_not_first", line=blank.count("\n") + 1)
    return text


def reject_declarations(text: str) -> None:
    """Refuse a DOCTYPE or any other ``<!`` declaration before the root element."""
    pos = 0
    length = len(text)
    while pos < length:
        while pos < length and text[pos] in " \t\r\n":
            pos += 1
        if text.startswith("<?", pos):
            end = text.find("?>", pos)
            if end < 0:
                return
            pos = end + 2
        elif text.startswith("<!--", pos):
            end = text.find("-->", pos + 4)
            if end < 0:
                return
            pos = end + 3
        elif text.startswith("<!", pos):
            kind = "DOCTYPE" if text[pos + 2 : pos + 9].upper() == "DOCTYPE" else "declaration"
            line = text.count("\n", 0, pos) + 1
            raise UnsafeDocument("cap.unsafe_xml", reason=kind, line=line)
        else:
            return


def parse_xml(data: bytes, log: IssueLog) -> etree._Element:
    """The root element of the XML document ``data`` (already size-checked)."""
    text = decode_xml(data, log)
    reject_declarations(text)
    try:
        root = etree.fromstring(text.encode("utf-8"), hardened_parser())
    except etree.XMLSyntaxError as exc:
        line = exc.lineno if isinstance(exc.lineno, int) else None
        raise MalformedDocument("cap.malformed_xml", reason=str(exc.msg), line=line) from None
    docinfo = root.getroottree().docinfo
    if getattr(docinfo, "doctype", "") or docinfo.internalDTD is not None:
        raise UnsafeDocument("cap.unsafe_xml", reason="DOCTYPE", line=1)
    entity = next(root.iter(etree.Entity), None)
    if entity is not None:
        raise UnsafeDocument("cap.unsafe_xml", reason="entity", line=line_of(entity))
    return root


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def parse_json(data: bytes) -> Any:
    """The JSON value of ``data`` (UTF-8, or UTF-16/32 with a byte-order mark)."""
    bom, skip = byte_order_mark(data)
    encoding = bom or "utf-8"
    try:
        text = data[skip:].decode(encoding, errors="strict")
    except UnicodeDecodeError as exc:
        line = data[skip : skip + exc.start].count(b"\n") + 1
        raise UndecodableDocument("cap.undecodable", encoding=encoding, line=line, offset=exc.start) from None
    try:
        return json.loads(text, parse_constant=_no_constants)
    except json.JSONDecodeError as exc:
        raise MalformedDocument("cap.malformed_json", reason=exc.msg, line=exc.lineno) from None
    except ValueError as exc:
        raise MalformedDocument("cap.malformed_json_value", reason=str(exc)) from None
    except RecursionError:
        raise MalformedDocument("cap.malformed_json_value", reason="nested too deeply") from None
