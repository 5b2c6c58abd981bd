"""What reading a shelter file found: the shelters, and every row that was refused, skipped or trimmed."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from sirena import messages
from sirena.shelters.model import Shelter

__all__ = ["LISTED", "ImportReport", "RowProblem", "Severity"]

LISTED = 1000
"""At most this many problems of each severity are listed in a report (all are counted)."""


class Severity(StrEnum):
    ERROR = "error"
    """The row cannot be a shelter (no usable location, a repeated id): it is refused."""
    SKIPPED = "skipped"
    """The row is not an air-raid shelter (an OpenStreetMap bus or picnic shelter, for example)."""
    WARNING = "warning"
    """The row is imported, without the value named (a capacity or accessibility that does not read)."""


@dataclass(frozen=True, slots=True)
class RowProblem:
    """``line`` is the 1-based line where the row (CSV) or feature (GeoJSON) starts; ``row`` is its position
    among the data rows or features, from 1."""

    line: int
    row: int
    severity: Severity
    reason: str
    field: str | None = None
    value: str | None = None

    def message(self, lang: str = "en") -> str:
        return messages.t(f"shelters.reason.{self.reason}", lang, field=self.field or "", value=self.value or "")

    def to_json(self, lang: str = "en") -> dict[str, Any]:
        return {
            "line": self.line,
            "row": self.row,
            "severity": self.severity.value,
            "reason": self.reason,
            "field": self.field,
            "value": self.value,
            "message": self.message(lang),
        }


@dataclass
class ImportReport:
    """One file read (and, when ``stored``, imported as ``source``)."""

    source: str
    file: str
    format: str
    rows: int = 0
    shelters: list[Shelter] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)
    stored: bool = False
    replaced: int = 0
    revision: int = 0

    def of(self, severity: Severity) -> list[RowProblem]:
        return [p for p in self.problems if p.severity is severity]

    @property
    def errors(self) -> list[RowProblem]:
        return self.of(Severity.ERROR)

    def to_json(self, lang: str = "en") -> dict[str, Any]:
        body: dict[str, Any] = {
            "source": self.source,
            "file": self.file,
            "format": self.format,
            "rows": self.rows,
            "valid": len(self.shelters),
            "stored": self.stored,
            "imported": len(self.shelters) if self.stored else 0,
            "replaced": self.replaced,
            "revision": self.revision if self.stored else None,
        }
        for severity, name in (
            (Severity.ERROR, "errors"),
            (Severity.SKIPPED, "skipped"),
            (Severity.WARNING, "warnings"),
        ):
            found = self.of(severity)
            body[name] = [p.to_json(lang) for p in found[:LISTED]]
            body[f"{name}_total"] = len(found)
        return body
