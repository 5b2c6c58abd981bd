"""What an import did: rows read per file, matched, repaired and not matched (with the reason), alerts written."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sirena import messages

__all__ = ["FileReport", "ImportReport", "UnmatchedRow"]


@dataclass(frozen=True, slots=True)
class UnmatchedRow:
    """A row that was not imported: the file, its line (1 is the header of a CSV), why, and the row itself."""

    file: str
    line: int
    reason: str
    text: str


@dataclass
class FileReport:
    """One input file: ``rows`` = ``matched`` + the sum of ``unmatched``; ``repaired`` rows are among ``matched``."""

    name: str
    dataset: str
    rows: int = 0
    matched: int = 0
    unmatched: Counter[str] = field(default_factory=Counter)
    repaired: Counter[str] = field(default_factory=Counter)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "dataset": self.dataset,
            "rows": self.rows,
            "matched": self.matched,
            "unmatched": dict(sorted(self.unmatched.items())),
            "repaired": dict(sorted(self.repaired.items())),
        }


@dataclass
class ImportReport:
    """The whole import. ``alerts`` counts distinct alerts after merging the files (the Ukrainian and English
    file of a dataset hold the same alerts); ``added + updated + unchanged == alerts``."""

    files: list[FileReport] = field(default_factory=list)
    alerts: int = 0
    ongoing: int = 0
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    seconds: float = 0.0
    unmatched_rows: list[UnmatchedRow] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return sum(f.rows for f in self.files)

    @property
    def unmatched(self) -> Counter[str]:
        total: Counter[str] = Counter()
        for report in self.files:
            total.update(report.unmatched)
        return total

    def summary(self, lang: str = messages.DEFAULT_LANGUAGE) -> str:
        """One line: alerts, how many were new, updated or already there, and the time taken."""
        return messages.t(
            "history.cli.imported",
            lang,
            alerts=self.alerts,
            ongoing=self.ongoing,
            added=self.added,
            updated=self.updated,
            unchanged=self.unchanged,
            seconds=self.seconds,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "files": [f.to_json() for f in self.files],
            "rows": self.rows,
            "unmatched": dict(sorted(self.unmatched.items())),
            "alerts": self.alerts,
            "ongoing": self.ongoing,
            "added": self.added,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "seconds": round(self.seconds, 3),
        }
