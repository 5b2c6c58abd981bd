"""Export: the history as CSV, GeoJSON or Parquet, streamed a page at a time (memory stays flat).

One row (or feature) per alert and region it targeted, in start order, with the region's names and oblast so the
file stands on its own. GeoJSON features carry the region's outline where it has one (oblast-level regions) and
``null`` otherwise, and the collection names the outlines' attribution. Parquet needs the optional ``parquet``
extra (pyarrow).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator, Callable, Iterator
from enum import StrEnum
from typing import Any

import shapely

from sirena.history.archive import History
from sirena.history.errors import ExtraMissing
from sirena.protocol.alert_json import parse_time
from sirena.regions import RegionRegistry
from sirena.store.history import ExportRow, HistoryFilter

__all__ = ["COLUMNS", "Format", "export"]


class Format(StrEnum):
    CSV = "csv"
    GEOJSON = "geojson"
    PARQUET = "parquet"

    @property
    def media_type(self) -> str:
        return {
            Format.CSV: "text/csv; charset=utf-8",
            Format.GEOJSON: "application/geo+json",
            Format.PARQUET: "application/vnd.apache.parquet",
        }[self]

    @property
    def suffix(self) -> str:
        return {Format.CSV: "csv", Format.GEOJSON: "geojson", Format.PARQUET: "parquet"}[self]


COLUMNS = (
    "id",
    "region_id",
    "region_uk",
    "region_en",
    "level",
    "oblast_id",
    "source",
    "kind",
    "status",
    "state",
    "started_at",
    "ended_at",
    "duration_s",
    "estimated_end",
    "open_ended",
)


def _duration(started: str, ended: str | None) -> float | None:
    if ended is None:
        return None
    a, b = parse_time(started), parse_time(ended)
    assert a is not None
    assert b is not None
    return (b - a).total_seconds()


class _Rows:
    """Export rows with the region's names, level and oblast added."""

    def __init__(self, registry: RegionRegistry, on_rows: Callable[[int], None] | None = None) -> None:
        self.registry = registry
        self.on_rows = on_rows
        self._regions: dict[str, tuple[str, str, str, str | None]] = {}

    def counted(self, page: list[ExportRow]) -> list[ExportRow]:
        if self.on_rows is not None:
            self.on_rows(len(page))
        return page

    def region(self, region_id: str) -> tuple[str, str, str, str | None]:
        found = self._regions.get(region_id)
        if found is None:
            if region_id in self.registry:
                region = self.registry.get(region_id)
                found = (region.name("uk"), region.name("en"), region.level, self.registry.oblast_of(region_id))
            else:
                found = ("", "", "", None)
            self._regions[region_id] = found
        return found

    def values(self, row: ExportRow) -> tuple[Any, ...]:
        alert_id, region_id, source, kind, status, state, started, ended, estimated, open_ended = row
        uk, en, level, oblast = self.region(region_id)
        return (
            alert_id,
            region_id,
            uk,
            en,
            level,
            oblast,
            source,
            kind,
            status,
            state,
            started,
            ended,
            _duration(started, ended),
            bool(estimated),
            bool(open_ended),
        )


def _csv(pages: Iterator[tuple[Any, ...]] | list[tuple[Any, ...]], header: bool) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    if header:
        writer.writerow(COLUMNS)
    for values in pages:
        writer.writerow(["" if v is None else str(v).lower() if isinstance(v, bool) else v for v in values])
    return buffer.getvalue().encode()


class _Sink(io.RawIOBase):
    """A write-only file that hands out what was written since the last :meth:`take`."""

    def __init__(self) -> None:
        super().__init__()
        self._chunks: list[bytes] = []
        self._position = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        chunk = bytes(data)
        self._chunks.append(chunk)
        self._position += len(chunk)
        return len(chunk)

    def tell(self) -> int:
        return self._position

    def take(self) -> bytes:
        out = b"".join(self._chunks)
        self._chunks.clear()
        return out


def _parquet_modules() -> tuple[Any, Any]:
    try:
        import pyarrow
        import pyarrow.parquet
    except ImportError:
        raise ExtraMissing("history.error.parquet_missing") from None
    return pyarrow, pyarrow.parquet


async def export(
    history: History, where: HistoryFilter, fmt: Format, *, on_rows: Callable[[int], None] | None = None
) -> AsyncIterator[bytes]:
    """The export as a stream of byte chunks; ``on_rows(n)`` is called after each page of ``n`` rows. For
    Parquet, raises :class:`ExtraMissing` before the first chunk when pyarrow is not installed."""
    rows = _Rows(history.registry, on_rows)
    if fmt is Format.PARQUET:
        pa, pq = _parquet_modules()
        async for chunk in _parquet(history, where, rows, pa, pq):
            yield chunk
        return
    if fmt is Format.CSV:
        yield _csv([], header=True)
        async for page in history.export_pages(where):
            yield _csv([rows.values(r) for r in rows.counted(page)], header=False)
        return
    geometry: dict[str, str] = {}
    head = {"type": "FeatureCollection", "attribution": history.registry.attribution or ""}
    yield (json.dumps(head, ensure_ascii=False)[:-1] + ', "features": [').encode()
    first = True
    async for page in history.export_pages(where):
        parts = []
        for row in rows.counted(page):
            values = rows.values(row)
            region_id = row[1]
            if region_id not in geometry:
                shape = history.registry.geometry(region_id) if region_id in history.registry else None
                geometry[region_id] = shapely.to_geojson(shape) if shape is not None else "null"
            properties = json.dumps(dict(zip(COLUMNS, values, strict=True)), ensure_ascii=False)
            parts.append(f'{{"type": "Feature", "id": "{row[0]}:{region_id}", "geometry": {geometry[region_id]}, ')
            parts.append(f'"properties": {properties}}}')
            parts.append(",\n")
        if parts:
            parts.pop()
            yield (("" if first else ",\n") + "".join(parts)).encode()
            first = False
    yield b"]}\n"


async def _parquet(history: History, where: HistoryFilter, rows: _Rows, pa: Any, pq: Any) -> AsyncIterator[bytes]:
    types = {
        "duration_s": pa.float64(),
        "estimated_end": pa.bool_(),
        "open_ended": pa.bool_(),
        "started_at": pa.timestamp("ms", tz="UTC"),
        "ended_at": pa.timestamp("ms", tz="UTC"),
    }
    schema = pa.schema([(name, types.get(name, pa.string())) for name in COLUMNS])
    sink = _Sink()
    writer = pq.ParquetWriter(sink, schema, compression="zstd")
    try:
        async for page in history.export_pages(where):
            columns: list[list[Any]] = [[] for _ in COLUMNS]
            for row in rows.counted(page):
                for column, value in zip(columns, rows.values(row), strict=True):
                    column.append(value)
            for index in (COLUMNS.index("started_at"), COLUMNS.index("ended_at")):
                columns[index] = [parse_time(v) if v else None for v in columns[index]]
            writer.write_table(pa.Table.from_arrays(columns, schema=schema))
            yield sink.take()
    finally:
        writer.close()
    yield sink.take()
