"""Import: history files in, ended alerts and rollups out, in big write batches, idempotently.

Files are read and matched off the event loop, merged into one record per alert (the Ukrainian and English file
of a dataset hold the same alerts; see :func:`~sirena.history.records.preferred` for which copy wins), and
written ``batch_size`` alerts per transaction (so a server sharing the database is never held up for long). An
import that stops before its end (Ctrl-C, an error, a server shutting down) takes back what its earlier batches
wrote, in one more transaction: the database is as before, and the next import starts over. Nothing is appended to
the event log: imported alerts were never live and no live channel hears of them.

Imports run one at a time per database, each under the work lease :data:`IMPORT_LEASE` (the CLI's and a demo
server's alike): two imports writing the same alerts at once could otherwise take back, when one stops, what the
other counts on. An import whose lease is lost stops and keeps what it wrote (``take_back``): the process that
holds the lease now may already count those alerts as stored, and importing again completes them.
"""

from __future__ import annotations

import asyncio
import csv
import functools
import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, TypeVar

from sirena.domain.model import Source
from sirena.errors import ConfigurationError, DataError
from sirena.history import cap
from sirena.history.dataset import BUILTIN_ORDER, Dataset, builtin_blob, dataset_of, read_records, text_of
from sirena.history.matching import Matcher
from sirena.history.records import HistoryRecord, ongoing_records, preferred, supersedes
from sirena.history.report import FileReport, ImportReport, UnmatchedRow
from sirena.protocol.alert_json import alert_to_dict, dumps
from sirena.regions import RegionRegistry
from sirena.store.history import AlertRow, Written, alert_rows, lookup, time_text, undo_records, write_records
from sirena.store.sql import Connection

__all__ = ["HistoryFile", "Progress", "SqlStore", "builtin_files", "import_history", "read_file", "sql_store"]

T = TypeVar("T")
Progress = Callable[[str, int, int], None]
"""Called as ``progress(phase, done, total)`` with phase ``read`` (files) or ``write`` (alerts)."""

IMPORT_LEASE = "history-import"
"""The work lease every import of history runs under (see :meth:`sirena.cluster.Leases.holding`)."""
BATCH_SIZE = 20_000


class SqlStore(Protocol):
    """What the history needs of a store: transactions on the writer and reads, on portable connections."""

    async def transaction(self, fn: Callable[[Connection], T]) -> T: ...
    async def read(self, fn: Callable[[Connection], T]) -> T: ...


def sql_store(store: object) -> SqlStore:
    """``store`` as a :class:`SqlStore`, or a :class:`ConfigurationError` for a backend without SQL access."""
    if callable(getattr(store, "transaction", None)) and callable(getattr(store, "read", None)):
        return store  # type: ignore[return-value]
    raise ConfigurationError("history.error.store", backend=type(store).__name__)


@dataclass(frozen=True, slots=True)
class HistoryFile:
    """An input: a CSV of one of the two datasets (plain or gzipped), or CAP (a document, feed or archive)."""

    name: str
    data: bytes


def builtin_files(only: Iterable[str] | None = None) -> list[HistoryFile]:
    """The shipped files (``official_data_en`` …), all four unless ``only`` names datasets or files."""
    wanted = set(only) if only is not None else None
    return [
        HistoryFile(f"{name}.csv.gz", builtin_blob(name))
        for name in BUILTIN_ORDER
        if wanted is None or name in wanted or name.rsplit("_", 1)[0] in wanted
    ]


def read_file(path: Path) -> HistoryFile:
    try:
        return HistoryFile(path.name, path.read_bytes())
    except OSError as exc:
        raise DataError("history.error.unreadable", file=str(path), reason=exc.strerror or str(exc)) from None


def _csv_dataset(blob: bytes) -> Dataset | None:
    try:
        with text_of(blob) as text:
            header = next(csv.reader(text), None)
    except (OSError, UnicodeDecodeError, EOFError, csv.Error):
        return None
    return dataset_of(header) if header else None


def _looks_like_cap(blob: bytes) -> bool:
    head = blob[:512].lstrip(b"\xef\xbb\xbf \t\r\n")
    return (
        head[:1] in {b"<", b"{", b"["}
        or blob[:2] == b"\x1f\x8b"
        or blob[:4] == b"PK\x03\x04"
        or (len(blob) > 262 and blob[257:262] == b"ustar")
    )


def collect(
    files: Sequence[HistoryFile],
    registry: RegionRegistry,
    progress: Progress | None = None,
    unmatched: list[UnmatchedRow] | None = None,
) -> tuple[dict[str, HistoryRecord], list[FileReport], int]:
    """Read and match every file; returns the merged records by id, a report per file, and how many
    long-running alerts were added."""
    matcher = Matcher(registry)
    merged: dict[str, HistoryRecord] = {}
    reports: list[FileReport] = []
    cap_files: list[tuple[str, bytes]] = []
    official_end: int | None = None

    def keep(record: HistoryRecord) -> None:
        key = record.id
        old = merged.get(key)
        merged[key] = record if old is None else preferred(old, record)

    for done, item in enumerate(files, start=1):
        dataset = _csv_dataset(item.data)
        if dataset is None:
            if not _looks_like_cap(item.data):
                raise DataError("history.error.unknown_file", file=item.name)
            cap_files.append((item.name, item.data))
        else:
            report = FileReport(item.name, dataset.value)
            reports.append(report)
            with text_of(item.data) as text:
                for record in read_records(text, dataset, matcher, report, unmatched):
                    keep(record)
                    if record.source is Source.OFFICIAL and (official_end is None or record.ended_ms > official_end):
                        official_end = record.ended_ms
        if progress is not None:
            progress("read", done, len(files))
    if cap_files:
        records, cap_reports = cap.read_cap(cap_files, matcher, unmatched)
        reports.extend(cap_reports)
        for record in records:
            keep(record)
    ongoing = 0
    if official_end is not None:
        for record in ongoing_records(official_end, Dataset.OFFICIAL.value):
            if record.region_id in registry:
                keep(record)
                ongoing += 1
    return merged, reports, ongoing


class RowMaker:
    """``alerts`` table rows for records, fast: the JSON body of the first record of each kind, source and origin
    is made by :func:`alert_to_dict` with markers in the varying places, and the others fill in their own id,
    region and times."""

    _MARKS = ("\x00id\x00", "\x00region\x00", "\x00started\x00", "\x00ended\x00")

    def __init__(self) -> None:
        self._templates: dict[tuple[str, str, str], list[str]] = {}

    def _template(self, record: HistoryRecord, key: tuple[str, str, str]) -> list[str]:
        body = alert_to_dict(record.alert())
        mark_id, mark_region, mark_started, mark_ended = self._MARKS
        body.update(
            id=mark_id,
            regions=[mark_region],
            targets_regions=[mark_region],
            started_at=mark_started,
            updated_at=mark_ended,
            ended_at=mark_ended,
        )
        text = dumps(body)
        for mark in self._MARKS:
            text = text.replace(dumps(mark), mark)
        parts = re.split("(" + "|".join(self._MARKS) + ")", text)
        self._templates[key] = parts
        return parts

    def row(self, record: HistoryRecord) -> AlertRow:
        key = (record.kind.value, record.source.value, record.origin)
        parts = self._templates.get(key) or self._template(record, key)
        started, ended = time_text(record.started_ms), time_text(record.ended_ms)
        values = {
            self._MARKS[0]: f'"{record.id}"',
            self._MARKS[1]: dumps(record.region_id),
            self._MARKS[2]: f'"{started}"',
            self._MARKS[3]: f'"{ended}"',
        }
        body = "".join([values.get(part, part) for part in parts])
        return (record.id, 1, "ended", "actual", key[0], key[1], started, ended, ended, body)

    def rows(self, records: Sequence[HistoryRecord]) -> list[tuple[HistoryRecord, AlertRow]]:
        return [(record, self.row(record)) for record in records]


async def import_history(
    store: object,
    registry: RegionRegistry,
    files: Sequence[HistoryFile],
    *,
    progress: Progress | None = None,
    batch_size: int = BATCH_SIZE,
    keep_unmatched: bool = False,
    take_back: Callable[[], bool] | None = None,
) -> ImportReport:
    """Import ``files`` into ``store``; safe to repeat (a second import of the same files adds nothing). An import
    that stops takes back what it wrote, unless ``take_back()`` says no at that moment."""
    sql = sql_store(store)
    began = time.perf_counter()
    unmatched: list[UnmatchedRow] | None = [] if keep_unmatched else None
    merged, reports, ongoing = await asyncio.to_thread(collect, files, registry, progress, unmatched)
    report = ImportReport(files=reports, alerts=len(merged), ongoing=ongoing, unmatched_rows=unmatched or [])
    records = sorted(merged.values(), key=lambda r: (r.started_ms, r.region_id, r.source.value))
    if progress is not None:
        progress("write", 0, len(records))
    maker = RowMaker()
    written: list[Written] = []
    try:
        for start in range(0, len(records), batch_size):
            chunk = records[start : start + batch_size]
            stored = await sql.read(functools.partial(lookup, ids=[r.id for r in chunk]))
            todo = [r for r in chunk if r.id not in stored or supersedes(stored[r.id], r)]
            report.unchanged += len(chunk) - len(todo)
            if todo:
                replaced = [r.id for r in todo if r.id in stored]
                before = await sql.read(functools.partial(alert_rows, ids=replaced)) if replaced else {}
                written.extend((r, stored.get(r.id), before.get(r.id)) for r in todo)  # before it may commit
                batch = await asyncio.to_thread(maker.rows, todo)
                counts = await sql.transaction(functools.partial(write_records, batch=batch))
                report.added += counts.added
                report.updated += counts.updated
                report.unchanged += counts.unchanged
            if progress is not None:
                progress("write", start + len(chunk), len(records))
    except BaseException:  # stopped (Ctrl-C, a failing batch, a server shutting down): as if it had not started
        if written and (take_back is None or take_back()):
            await asyncio.shield(sql.transaction(functools.partial(undo_records, written=written)))
        raise
    report.seconds = time.perf_counter() - began
    return report
