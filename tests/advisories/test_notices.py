"""Notices are pure data: who receives one is read from its payload, so it routes the same after a trip through
the wire, the NATS bus codec or the database; live filters never hand the coordination line to the public."""

from __future__ import annotations

from datetime import UTC, datetime

from sirena.bus.nats import decode, encode
from sirena.domain.model import Status
from sirena.domain.notice import Notice, NoticeType
from sirena.protocol import sse
from sirena.protocol.alert_json import event_to_dict, log_event_from_dict
from sirena.regions import load_builtin
from sirena.stream.filter import EVERY_INBOX, EventFilter

AT = datetime(2026, 11, 25, 16, 1, tzinfo=UTC)
ADVISORY = Notice(
    7,
    NoticeType.ADVISORY_ISSUED,
    AT,
    {"id": "a1", "channel": "embassy-ca-kyiv", "regions": ["31"], "status": "actual", "headline": {"en": "Closed"}},
)
MESSAGE = Notice(
    8,
    NoticeType.COORDINATION_ESCALATED,
    AT,
    {"id": "m1", "from": "kyiv-ops", "to": ["lviv-ops"], "receipts": [{"to": "lviv-ops", "notified": ["lviv-duty"]}]},
)
CLEAR = Notice(9, NoticeType.ALL_CLEAR, AT, {"alert_id": "x", "regions": ["14"], "status": "exercise"})


def test_the_wire_shape_and_the_bus_codec_keep_everything() -> None:
    assert event_to_dict(ADVISORY) == {
        "seq": 7,
        "type": "advisory.issued",
        "at": "2026-11-25T16:01:00.000Z",
        "advisory": dict(ADVISORY.body),
    }
    for notice in (ADVISORY, MESSAGE, CLEAR):
        assert log_event_from_dict(event_to_dict(notice)) == notice
        again = decode(encode(notice))
        assert again == notice and again.reach == notice.reach
    frame = sse.parse(sse.event_frame(MESSAGE).decode())[0]
    assert (frame["id"], frame["event"]) == ("8", "coordination.escalated")


def test_who_receives_what() -> None:
    tree = load_builtin("ua")
    public = EventFilter.build(tree)
    kyiv_city = EventFilter.build(tree, ["31"], channels=["embassy-ca-kyiv"])
    lviv = EventFilter.build(tree, ["27"], channels=["embassy-ca-kyiv"])
    drills = EventFilter.build(tree, statuses=[Status.EXERCISE])
    assert not public.accepts(ADVISORY) and kyiv_city.accepts(ADVISORY) and not lviv.accepts(ADVISORY)
    assert drills.accepts(CLEAR) and not public.accepts(CLEAR)
    for everyone in (public, kyiv_city, lviv, drills, EventFilter(statuses=frozenset(Status))):
        assert not everyone.accepts(MESSAGE)
    for name in ("kyiv-ops", "lviv-ops", "lviv-duty", EVERY_INBOX):
        assert EventFilter(statuses=frozenset(Status), inbox=name).accepts(MESSAGE)
    assert not EventFilter(statuses=frozenset(Status), inbox="odesa-ops").accepts(MESSAGE)
    assert not EventFilter(statuses=frozenset(Status), inbox="lviv-ops").accepts(ADVISORY)  # the line only
