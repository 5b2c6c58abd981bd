"""A push notification for an alert with a time to shelter says it first; an all-clear does not."""

from __future__ import annotations

import dataclasses

from targeting_helpers import T0, region_alert, ukraine

from sirena.delivery.notification import notification
from sirena.domain.model import AlertState, Event, EventType


def test_the_time_to_shelter_comes_first_in_the_body() -> None:
    alert = dataclasses.replace(region_alert(["22"]), time_to_shelter_s=60, instruction={"uk": "Негайно в укриття"})
    issued = notification(Event(1, EventType.ISSUED, alert, T0), ukraine(), "uk")
    assert issued["body"] == "60 с до укриття · Харківська область · Негайно в укриття"
    english = notification(Event(1, EventType.ISSUED, alert, T0), ukraine(), "en")
    assert english["body"].startswith("60 s to shelter · Kharkiv Oblast")
    ended = dataclasses.replace(alert, state=AlertState.ENDED)
    assert "shelter" not in notification(Event(2, EventType.ENDED, ended, T0), ukraine(), "en")["body"]
    none = dataclasses.replace(alert, time_to_shelter_s=None)
    assert notification(Event(1, EventType.ISSUED, none, T0), ukraine(), "en")["body"].startswith("Kharkiv")
