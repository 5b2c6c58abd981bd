"""The one JSON encoding of alerts and events: compact, readable non-ASCII text, and it takes whatever JSON can
say, even what the fast encoder refuses."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from sirena import domain
from sirena.domain import AlertDraft, Target
from sirena.protocol.alert_json import alert_from_dict, alert_to_dict, dumps


def test_an_alert_round_trips_compact_with_its_text_readable() -> None:
    now = datetime(2026, 11, 25, 7, 36, 50, 123000, tzinfo=UTC)
    draft = AlertDraft(target=Target(regions=("31",)), headline={"uk": "Повітряна тривога"})
    alert = domain.issue(draft, alert_id="A1", now=now, resolved=(("31",), (), 90)).alert
    text = dumps(alert_to_dict(alert))
    assert "Повітряна тривога" in text
    assert ", " not in text
    assert '"updated_at":"2026-11-25T07:36:50.123Z"' in text
    assert alert_from_dict(json.loads(text)) == alert


@pytest.mark.parametrize(
    "value",
    [
        {"n": 10**30},  # past 64 bits
        {"s": "x\ud800y"},  # a lone surrogate, as a \\u escape
        {"nested": [{"n": -(10**20)}, "Київ"]},
        {"both": [10**30, "Київ", "\udc00"]},
    ],
)
def test_what_the_fast_encoder_refuses_is_still_json(value: object) -> None:
    text = dumps(value)
    assert json.loads(text) == value
    assert "\\u041a" not in text  # the rest of the document keeps its text readable ("Київ")


@pytest.mark.parametrize("value", [object(), datetime(2026, 1, 1, tzinfo=UTC), Target(regions=("31",))])
def test_what_is_not_json_is_a_type_error(value: object) -> None:
    with pytest.raises(TypeError):  # times and dataclasses have their own encoding (format_time, *_to_dict)
        dumps({"o": value})
