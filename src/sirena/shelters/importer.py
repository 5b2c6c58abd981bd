"""Reading a shelter file into a report: decode, pick the format, read every row, give each shelter its id.

Pure: nothing is stored here (see :class:`sirena.shelters.directory.ShelterDirectory` for that). A file that
cannot be read at all (not JSON, no location column, not text) raises :class:`~sirena.errors.DataError`; bad
rows are reported in :class:`~sirena.shelters.report.ImportReport` with their line numbers.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import PurePath

from sirena.errors import DataError, ValidationFailed
from sirena.shelters import csvfile, geojson
from sirena.shelters.fields import build
from sirena.shelters.model import Shelter
from sirena.shelters.report import ImportReport, RowProblem, Severity

__all__ = ["FORMATS", "SOURCE_PATTERN", "decode", "detect_format", "read"]

FORMATS = ("geojson", "csv")
SOURCE_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_EXTENSIONS = {".geojson": "geojson", ".json": "geojson", ".csv": "csv", ".tsv": "csv", ".txt": "csv"}


def decode(data: bytes) -> str:
    """UTF-8 (with or without a byte-order mark), else Windows-1251, which Ukrainian spreadsheets still write."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("cp1251")
    except UnicodeDecodeError:
        raise DataError("shelters.not_text") from None
    if "\x00" in text:
        raise DataError("shelters.not_text")
    return text


def detect_format(text: str, name: str = "", content_type: str | None = None) -> str:
    """``geojson`` or ``csv``: from the media type, else the file extension, else the first character."""
    media = (content_type or "").split(";")[0].strip().lower()
    if media in {"application/geo+json", "application/json"}:
        return "geojson"
    if media in {"text/csv", "text/tab-separated-values"}:
        return "csv"
    by_name = _EXTENSIONS.get(PurePath(name).suffix.lower())
    if by_name is not None:
        return by_name
    return "geojson" if text.lstrip()[:1] in {"{", "["} else "csv"


def check_source(source: str) -> str:
    if not SOURCE_PATTERN.fullmatch(source):
        raise ValidationFailed("shelters.bad_source", field="source", value=source)
    return source


def default_source(name: str) -> str:
    """A source name made from a file name: its stem, with other characters replaced by ``-``."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", PurePath(name).stem).strip("-._")[:64]
    return stem or "shelters"


def read(
    data: bytes, *, source: str, name: str = "", fmt: str | None = None, content_type: str | None = None
) -> ImportReport:
    """Every shelter in ``data`` and every problem, with line numbers; nothing is stored."""
    check_source(source)
    text = decode(data)
    if not text.strip():
        raise DataError("shelters.empty")
    fmt = fmt or detect_format(text, name, content_type)
    if fmt not in FORMATS:
        raise ValidationFailed("error.bad_choice", field="format", value=fmt, choices=list(FORMATS))
    problems: list[RowProblem] = []
    rows = geojson.records(text, problems) if fmt == "geojson" else csvfile.records(text, problems)
    shelters: list[tuple[int, Shelter]] = []
    count = 0
    for record in rows:
        count = record.row
        shelter = build(record, source, problems)
        if shelter is not None:
            shelters.append((record.row, shelter))
    count = max([count, *(p.row for p in problems)], default=0)
    report = ImportReport(source=source, file=name, format=fmt, rows=count, problems=problems)
    report.shelters = _identify(shelters, source, problems)
    report.problems.sort(key=lambda p: (p.line, p.row))
    return report


def _identify(shelters: list[tuple[int, Shelter]], source: str, problems: list[RowProblem]) -> list[Shelter]:
    """Give shelters without a reference one from their coordinates (``#2``, ``#3`` for repeats) and refuse a
    reference given twice (the second one, naming the line of the first)."""
    seen: dict[str, int] = {}
    repeats: dict[str, int] = {}
    found: list[Shelter] = []
    for row, shelter in shelters:
        ref = shelter.ref
        if not ref:
            base = f"{shelter.lat:.6f},{shelter.lon:.6f}"
            repeats[base] = repeats.get(base, 0) + 1
            ref = base if repeats[base] == 1 else f"{base}#{repeats[base]}"
            shelter = dataclasses.replace(shelter, ref=ref, id=f"{source}:{ref}")
        elif ref in seen:
            problems.append(
                RowProblem(shelter.line, row, Severity.ERROR, "duplicate_ref", "id", f"{ref} (line {seen[ref]})")
            )
            continue
        seen.setdefault(ref, shelter.line)
        found.append(shelter)
    return found
