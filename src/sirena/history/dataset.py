"""The Ukrainian air-raid record (official channel and volunteer sets): the copies shipped with the package, newer
downloads of the same CSV files, and their rows turned into :class:`~sirena.history.records.HistoryRecord`.

Two datasets, each in a Ukrainian and an English file with the same alerts under different names:

* ``official_data``: ``oblast,raion,hromada,level,started_at,finished_at,source``; the official alerts channel,
  at oblast, raion or hromada level.
* ``volunteer_data``: ``region,started_at,finished_at,naive``; oblast level, collected by volunteers; ``naive``
  rows saw no end message, and their end is the start plus 30 minutes.
"""

from __future__ import annotations

import csv
import gzip
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import StrEnum
from importlib import resources

from sirena.domain.model import Source
from sirena.history.matching import Match, Matcher, Reason
from sirena.history.records import HistoryRecord, to_ms
from sirena.history.report import FileReport, UnmatchedRow
from sirena.regions import RegionRegistry

DATASETS = ("official_data_uk", "official_data_en", "volunteer_data_uk", "volunteer_data_en")
BUILTIN_ORDER = ("official_data_en", "official_data_uk", "volunteer_data_en", "volunteer_data_uk")
"""Import order of the shipped files: English first, as those files reach further."""


class Dataset(StrEnum):
    OFFICIAL = "official_data"
    VOLUNTEER = "volunteer_data"


SOURCES = {Dataset.OFFICIAL: Source.OFFICIAL, Dataset.VOLUNTEER: Source.VOLUNTEER}
_COLUMNS = {
    Dataset.OFFICIAL: frozenset({"oblast", "raion", "hromada", "level", "started_at", "finished_at"}),
    Dataset.VOLUNTEER: frozenset({"region", "started_at", "finished_at"}),
}


@dataclass(frozen=True, slots=True)
class HistoricAlert:
    region_id: str
    started_at: datetime
    finished_at: datetime
    source: str


def builtin_blob(dataset: str) -> bytes:
    """The gzipped CSV of one shipped dataset file."""
    if dataset not in DATASETS:
        raise ValueError(dataset)
    return (resources.files("sirena") / "data" / "history" / "ua" / f"{dataset}.csv.gz").read_bytes()


def text_of(blob: bytes) -> io.TextIOWrapper:
    """A CSV file's text, gunzipped when it is gzipped; a UTF-8 byte-order mark is dropped."""
    raw = gzip.GzipFile(fileobj=io.BytesIO(blob)) if blob[:2] == b"\x1f\x8b" else io.BytesIO(blob)
    return io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")


def rows(dataset: str) -> Iterator[dict[str, str]]:
    """The raw CSV rows of one shipped dataset."""
    with text_of(builtin_blob(dataset)) as text:
        yield from csv.DictReader(text)


def dataset_of(columns: Iterable[str]) -> Dataset | None:
    """Which dataset a CSV header belongs to (extra columns are allowed), or ``None``."""
    names = {c.strip().lower() for c in columns}
    for dataset, needed in _COLUMNS.items():
        if needed <= names:
            return dataset
    return None


def parse_ms(text: str | None) -> int | None:
    """Unix milliseconds of a CSV timestamp (``2022-03-15 16:10:34+00:00``; no offset means UTC)."""
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        try:
            moment = datetime.fromisoformat(text.strip())
        except ValueError:
            return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return to_ms(moment)


def _truthy(text: str | None) -> bool:
    return (text or "").strip().lower() in {"true", "1", "yes"}


def read_records(
    text: Iterable[str],
    dataset: Dataset,
    matcher: Matcher,
    report: FileReport,
    unmatched: list[UnmatchedRow] | None = None,
) -> Iterator[HistoryRecord]:
    """The records of one CSV file (its text, header first); every row is counted in ``report`` as matched or
    with the reason it was not."""
    source = SOURCES[dataset]
    official = dataset is Dataset.OFFICIAL
    reader = csv.reader(text)
    header = [name.strip().lower() for name in next(reader, [])]
    width = len(header)

    def column(name: str) -> int:
        return header.index(name) if name in header else width

    oblast_i, raion_i, hromada_i, level_i, region_i, naive_i, started_i, ended_i = (
        column(name) for name in ("oblast", "raion", "hromada", "level", "region", "naive", "started_at", "finished_at")
    )
    for line, row in enumerate(reader, start=2):
        if not row:
            continue
        report.rows += 1
        if len(row) <= width:
            row = row + [""] * (width + 1 - len(row))
        if official:
            match = matcher.official(row[oblast_i], row[raion_i], row[hromada_i], row[level_i])
        else:
            match = matcher.region(row[region_i])
        ended_text = row[ended_i]
        started = parse_ms(row[started_i])
        ended = parse_ms(ended_text)
        reason = match.reason
        if reason is None:
            if started is None or (ended_text.strip() and ended is None):
                reason = Reason.BAD_TIME
            elif ended is None:
                reason = Reason.NOT_ENDED
            elif ended <= started:
                reason = Reason.BAD_TIME
        if reason is not None or match.region_id is None or started is None or ended is None:
            why = reason or Reason.REGION_UNKNOWN
            report.unmatched[why.value] += 1
            if unmatched is not None:
                unmatched.append(UnmatchedRow(report.name, line, why.value, ",".join(row[:width])))
            continue
        report.matched += 1
        if match.repair is not None:
            report.repaired[match.repair.value] += 1
        yield HistoryRecord(
            source,
            match.region_id,
            started,
            ended,
            estimated_end=not official and _truthy(row[naive_i]),
            origin=dataset.value,
        )


def resolve_official(registry: RegionRegistry, row: dict[str, str]) -> str | None:
    """The region id of an official-channel row (oblast, raion or hromada level), or ``None``."""
    match: Match = Matcher(registry).official(row["oblast"], row["raion"], row["hromada"], row["level"])
    return match.region_id


def official_day(registry: RegionRegistry, day: date) -> list[HistoricAlert]:
    """Every official alert that started on ``day`` (UTC) and could be matched to a region."""
    prefix = day.isoformat()
    matcher = Matcher(registry)
    found: list[HistoricAlert] = []
    for row in rows("official_data_uk"):
        if not row["started_at"].startswith(prefix):
            continue
        region_id = matcher.official(row["oblast"], row["raion"], row["hromada"], row["level"]).region_id
        if region_id is None:
            continue
        found.append(
            HistoricAlert(
                region_id,
                datetime.fromisoformat(row["started_at"]),
                datetime.fromisoformat(row["finished_at"]),
                "official",
            )
        )
    return sorted(found, key=lambda a: a.started_at)
