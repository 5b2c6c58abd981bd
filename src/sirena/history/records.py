"""A historical alert as imported: one region, a start and an end, where it was recorded; and its identity.

An imported alert is identified by its source, its region and the moment it started (to the millisecond). The
id is derived from exactly these, so the same alert read from another file (the Ukrainian and the English file of
one dataset, or a newer download) gets the same id, and importing it again adds nothing. Like every Sirena id it
is 26 characters, time-ordered: 48 bits of the start in milliseconds, then 80 bits of a BLAKE2b hash of the key.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sirena.domain.model import Alert, AlertState, Kind, Level, Source, Status, Target
from sirena.domain.texts import default_headline

__all__ = ["ONGOING", "HistoryRecord", "from_ms", "history_id", "ongoing_records", "preferred", "supersedes", "to_ms"]

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_PAIRS = tuple(a + b for a in _ALPHABET for b in _ALPHABET)
"""Two Crockford base32 digits for each 10-bit value."""
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

ONGOING: tuple[tuple[str, datetime], ...] = (
    ("16", datetime(2022, 4, 4, 16, 45, tzinfo=UTC)),  # Luhansk Oblast
    ("29", datetime(2022, 12, 10, 22, 22, tzinfo=UTC)),  # Autonomous Republic of Crimea
)
"""The two alerts in force without a break since these moments, which the official files leave out."""


def to_ms(moment: datetime) -> int:
    """Milliseconds since the Unix epoch of an aware datetime, truncated to the millisecond.

    Exact: a double holds today's epoch seconds to well under a microsecond, so rounding the product recovers the
    whole number of milliseconds."""
    micro = moment.microsecond
    if micro % 1000:
        moment = moment.replace(microsecond=micro - micro % 1000)
    return round(moment.timestamp() * 1000)


def from_ms(ms: int) -> datetime:
    return _EPOCH + timedelta(milliseconds=ms)


def history_id(source: str, region_id: str, started_ms: int) -> str:
    """The deterministic id of an imported alert (see the module docstring)."""
    digest = hashlib.blake2b(f"{source}|{region_id}|{started_ms}".encode(), digest_size=10).digest()
    value = ((started_ms & 0xFFFF_FFFF_FFFF) << 80) | int.from_bytes(digest, "big")
    pairs = _PAIRS
    return "".join([pairs[(value >> shift) & 1023] for shift in range(120, -1, -10)])


@dataclass(frozen=True, slots=True)
class HistoryRecord:
    """One alert of the record, for one region. Times are UTC milliseconds; ``ended_ms > started_ms``.

    ``estimated_end``: no end was observed and the dataset assumed one (the volunteer set's ``naive`` rows, 30
    minutes after the start). ``open_ended``: the alert was still in force when the record stops; ``ended_ms`` is
    the end of the record's coverage, and a newer record extends it.
    """

    source: Source
    region_id: str
    started_ms: int
    ended_ms: int
    kind: Kind = Kind.AIR_RAID
    estimated_end: bool = False
    open_ended: bool = False
    origin: str = ""
    id: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "id", history_id(self.source.value, self.region_id, self.started_ms))

    @property
    def started_at(self) -> datetime:
        return from_ms(self.started_ms)

    @property
    def ended_at(self) -> datetime:
        return from_ms(self.ended_ms)

    @property
    def flagged(self) -> bool:
        return self.estimated_end or self.open_ended

    def alert(self) -> Alert:
        """The record as a Sirena alert: ended, actual, red, issued by ``import:<origin>``."""
        ended = self.ended_at
        return Alert(
            id=self.id,
            version=1,
            state=AlertState.ENDED,
            target=Target(regions=(self.region_id,)),
            regions=(self.region_id,),
            partial_regions=(),
            kind=self.kind,
            level=Level.RED,
            status=Status.ACTUAL,
            threats=(),
            issuer=f"import:{self.origin}" if self.origin else "import",
            started_at=self.started_at,
            updated_at=ended,
            ended_at=ended,
            headline=default_headline(self.kind, Status.ACTUAL),
            source=self.source,
        )


def _rank(record: HistoryRecord) -> tuple[bool, bool, int]:
    return (not record.estimated_end, not record.open_ended, record.ended_ms)


def preferred(a: HistoryRecord, b: HistoryRecord) -> HistoryRecord:
    """Which of two records of the same alert to keep: an observed end over an estimated one, a real end over
    the end of coverage, then the later end. The rule does not depend on the order files are imported in."""
    return b if _rank(b) > _rank(a) else a


def supersedes(old: HistoryRecord, new: HistoryRecord) -> bool:
    """Whether ``new`` should replace the stored ``old`` copy of the same alert."""
    if (old.ended_ms, old.estimated_end, old.open_ended) == (new.ended_ms, new.estimated_end, new.open_ended):
        return False
    return preferred(old, new) is new


def ongoing_records(coverage_end_ms: int, origin: str) -> list[HistoryRecord]:
    """The two long-running official alerts (Luhansk Oblast, Crimea), open-ended at ``coverage_end_ms``."""
    out = []
    for region_id, started in ONGOING:
        started_ms = to_ms(started)
        if coverage_end_ms > started_ms:
            out.append(
                HistoryRecord(Source.OFFICIAL, region_id, started_ms, coverage_end_ms, open_ended=True, origin=origin)
            )
    return out
