"""CAP archives as history: a CAP document, a feed, or a zip/tar(.gz) of them, turned into history records.

Messages are read with :func:`sirena.protocol.cap.ingest`. An ``Alert`` and the ``Update`` messages that reference
it (directly or through each other) are one alert: it starts at the first message's ``onset`` (else
``effective``, else ``sent``) and ends when a ``Cancel`` references it (its ``sent``) or, failing that, at the
latest ``expires`` of the last message. Its regions are those named by every message of the chain: a geocode
whose name is a region code (``katottg``, ``iso3166_2``…) or a region id (``uid``, ``region``, ``location_uid``),
else the ``areaDesc`` as a region name, else the regions a polygon or circle covers entirely.

Every message is counted: matched (it is part of an imported alert) or not, with the reason (not ``Actual``, no
area matched, no end known, or the document could not be read).
"""

from __future__ import annotations

import gzip
import io
import re
import tarfile
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import shapely

from sirena.domain.model import Circle, Kind, Source
from sirena.errors import SirenaError
from sirena.history.matching import Matcher, Reason
from sirena.history.records import HistoryRecord, to_ms
from sirena.history.report import FileReport, UnmatchedRow
from sirena.protocol.cap import CapArea, CapMessage, ingest, message_key
from sirena.service import circle_geometry

__all__ = ["documents", "read_cap"]

ID_GEOCODES = frozenset({"uid", "location_uid", "region", "region_id", "sirena", "alerts_in_ua"})
MAX_MEMBER_BYTES = 64 * 1024 * 1024
_KINDS = {k.value: k for k in Kind}


def documents(blob: bytes, name: str) -> Iterator[tuple[str, bytes]]:
    """The documents in a file: itself, or each member of a zip or tar archive (gzipped or not)."""
    if blob[:2] == b"\x1f\x8b":
        blob = gzip.decompress(blob)
    if blob[:4] == b"PK\x03\x04":
        with zipfile.ZipFile(io.BytesIO(blob)) as archive:
            for info in archive.infolist():
                if not info.is_dir() and info.file_size <= MAX_MEMBER_BYTES:
                    yield f"{name}:{info.filename}", archive.read(info)
        return
    if len(blob) > 262 and blob[257:262] == b"ustar":
        with tarfile.open(fileobj=io.BytesIO(blob)) as archive:
            for member in archive:
                if member.isfile() and member.size <= MAX_MEMBER_BYTES:
                    handle = archive.extractfile(member)
                    if handle is not None:
                        yield f"{name}:{member.name}", handle.read()
        return
    yield name, blob


@dataclass
class _Chain:
    first: CapMessage
    messages: list[CapMessage] = field(default_factory=list)
    cancelled_ms: int | None = None


def _start_ms(message: CapMessage) -> int | None:
    for info in message.infos:
        moment = info.onset or info.effective
        if moment is not None:
            return to_ms(moment)
    return to_ms(message.sent) if message.sent is not None else None


def _expires_ms(message: CapMessage) -> int | None:
    found = [to_ms(info.expires) for info in message.infos if info.expires is not None]
    return max(found) if found else None


def _kind(message: CapMessage) -> Kind:
    for info in message.infos:
        for _, value in (*info.event_code, *info.parameters):
            if value.strip().lower() in _KINDS:
                return _KINDS[value.strip().lower()]
    return Kind.AIR_RAID


class _Areas:
    """Region ids of CAP areas over one registry."""

    def __init__(self, matcher: Matcher) -> None:
        self.matcher = matcher
        registry = matcher.registry
        self.codes: dict[tuple[str, str], str] = {}
        for region in registry:
            for code, value in region.codes.items():
                self.codes[(code.lower(), value.strip().lower())] = region.id

    def regions(self, area: CapArea) -> list[str]:
        registry = self.matcher.registry
        found: list[str] = []
        for name, value in area.geocodes:
            key = name.strip().lower()
            if key in ID_GEOCODES and value.strip() in registry:
                found.append(value.strip())
            elif (key, value.strip().lower()) in self.codes:
                found.append(self.codes[(key, value.strip().lower())])
        if found:
            return found
        for part in [area.area_desc, *re.split(r"[,;]", area.area_desc)]:
            region_id = self.matcher.area(part) if part.strip() else None
            if region_id is not None:
                return [region_id]
        shapes = [shapely.Polygon([(lon, lat) for lat, lon in ring]) for ring in area.polygons if len(ring) >= 4]
        shapes += [circle_geometry_of(c) for c in area.circles]
        for shape in shapes:
            if shape.is_valid and not shape.is_empty:
                covered, _ = registry.regions_for_geometry(shape)
                found.extend(covered)
        return found


def circle_geometry_of(circle: tuple[float, float, float]) -> shapely.Geometry:
    return circle_geometry(Circle(*circle))


def read_cap(
    files: Sequence[tuple[str, bytes]], matcher: Matcher, unmatched: list[UnmatchedRow] | None = None
) -> tuple[list[HistoryRecord], list[FileReport]]:
    """History records from CAP files, and one report per file (a row is a message)."""
    reports: dict[str, FileReport] = {}
    located: list[tuple[str, CapMessage]] = []
    for name, blob in files:
        report = reports.setdefault(name, FileReport(name, "cap"))
        for member, data in documents(blob, name):
            try:
                located.extend((name, m) for m in ingest(data).messages)
            except SirenaError as exc:
                report.rows += 1
                report.unmatched[Reason.UNREADABLE.value] += 1
                if unmatched is not None:
                    unmatched.append(UnmatchedRow(name, 0, Reason.UNREADABLE.value, f"{member}: {exc.detail()}"))
    origin: dict[int, str] = {id(m): name for name, m in located}
    chains: dict[tuple[str, str, str], _Chain] = {}
    root_of: dict[tuple[str, str, str], tuple[str, str, str]] = {}

    def fail(message: CapMessage, reason: Reason) -> None:
        report = reports[origin[id(message)]]
        report.rows += 1
        report.unmatched[reason.value] += 1
        if unmatched is not None:
            text = f"{message.sender},{message.identifier},{message.sent_text}"
            unmatched.append(UnmatchedRow(report.name, 0, reason.value, text))

    ordered = sorted((m for _, m in located), key=lambda m: (m.sent is None, to_ms(m.sent) if m.sent else 0))
    for message in ordered:
        key = message_key(message)
        if message.status.lower() != "actual" or message.msg_type not in {"Alert", "Update", "Cancel"}:
            fail(message, Reason.NOT_ACTUAL)
            continue
        parents = [root_of[r.key] for r in message.references if r.key in root_of]
        if message.msg_type == "Alert" or not parents:
            if message.msg_type == "Cancel":
                fail(message, Reason.NOT_ACTUAL)
                continue
            chains[key] = _Chain(message, [message])
            root_of[key] = key
            continue
        root = parents[0]
        root_of[key] = root
        chain = chains[root]
        chain.messages.append(message)
        if message.msg_type == "Cancel" and message.sent is not None:
            chain.cancelled_ms = to_ms(message.sent)
    areas = _Areas(matcher)
    records: list[HistoryRecord] = []
    for chain in chains.values():
        started = _start_ms(chain.first)
        ended = chain.cancelled_ms
        if ended is None:
            last = [m for m in chain.messages if m.msg_type != "Cancel"][-1]
            ended = _expires_ms(last)
        regions: dict[str, None] = {}
        for message in chain.messages:
            for info in message.infos:
                for area in info.areas:
                    regions.update(dict.fromkeys(areas.regions(area)))
        reason = None
        if started is None or ended is None:
            reason = Reason.NOT_ENDED
        elif ended <= started:
            reason = Reason.BAD_TIME
        elif not regions:
            reason = Reason.NO_AREA
        if reason is not None:
            for message in chain.messages:
                fail(message, reason)
            continue
        assert started is not None
        assert ended is not None
        kind = _kind(chain.first)
        for message in chain.messages:
            report = reports[origin[id(message)]]
            report.rows += 1
            report.matched += 1
        records.extend(HistoryRecord(Source.CAP, r, started, ended, kind, origin="cap") for r in regions)
    return records, list(reports.values())
