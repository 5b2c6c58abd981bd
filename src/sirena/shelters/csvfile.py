"""Reading shelters from CSV, as city open data portals and OpenStreetMap tools write it.

The first row names the columns (English, Ukrainian or OpenStreetMap names; see
:data:`sirena.shelters.fields.ALIASES`). The delimiter is whichever of ``,`` ``;`` or a tab the header uses
most; Ukrainian portals often use ``;`` with decimal commas, which are read too. A location is a latitude and
a longitude column, or one ``coordinates`` column holding ``lat, lon``. Line numbers count the header as line
1; a row with a line break inside a quoted cell is reported at the line where it starts.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator

from sirena.errors import DataError
from sirena.shelters.fields import ALIASES, Record, coordinate, normalise_key
from sirena.shelters.report import RowProblem, Severity

__all__ = ["records"]

_COMBINED = ("coordinates", "координати", "location", "геолокація", "geo")
_PAIR = re.compile(r"^\s*([+-]?\d+(?:[.,]\d+)?)\s*[,; ]\s*([+-]?\d+(?:[.,]\d+)?)\s*$")
_PAIR_DOTS = re.compile(r"^\s*([+-]?\d+(?:\.\d+)?)\s*,\s*([+-]?\d+(?:\.\d+)?)\s*$")


def _delimiter(header: str) -> str:
    counts = {d: header.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _pair(value: str) -> tuple[float, float] | None:
    """``"50.45, 30.52"`` or ``"50,45; 30,52"`` as (lat, lon)."""
    match = _PAIR_DOTS.match(value) or _PAIR.match(value)
    if match is None:
        return None
    lat, lon = coordinate(match.group(1)), coordinate(match.group(2))
    return None if lat is None or lon is None else (lat, lon)


def records(text: str, problems: list[RowProblem]) -> Iterator[Record]:
    """Each data row as a record; rows that cannot be split into the header's columns are reported."""
    first_line = text.split("\n", 1)[0]
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(first_line), strict=True)
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise DataError("shelters.bad_csv", line=1, reason=str(exc)) from None
    if not header or not any(cell.strip() for cell in header):
        raise DataError("shelters.empty")
    keys = [normalise_key(h) for h in header]
    has_lat = any(k in ALIASES["lat"] for k in keys) and any(k in ALIASES["lon"] for k in keys)
    combined = next((i for i, k in enumerate(keys) if k in _COMBINED), None)
    if not has_lat and combined is None:
        raise DataError("shelters.csv_no_location", columns=", ".join(h.strip() for h in header))
    row = 0
    while True:
        line = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise DataError("shelters.bad_csv", line=line, reason=str(exc)) from None
        if not any(cell.strip() for cell in cells):
            continue
        row += 1
        if len(cells) > len(keys) and any(cell.strip() for cell in cells[len(keys) :]):
            problems.append(RowProblem(line, row, Severity.ERROR, "too_many_cells", None, str(len(cells))))
            continue
        values = {key: cell for key, cell in zip(keys, cells, strict=False) if key}
        location = None
        if not has_lat and combined is not None:
            raw = cells[combined] if combined < len(cells) else ""
            location = _pair(raw)
            if location is None:
                reason = "no_location" if not raw.strip() else "bad_number"
                problems.append(RowProblem(line, row, Severity.ERROR, reason, header[combined].strip(), raw[:200]))
                continue
        yield Record(line, row, values, location)
