"""The compatible API shapes as pure functions: no sockets, no store."""

from __future__ import annotations

import csv
import re
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path

from sirena import domain
from sirena.domain.model import Alert, AlertState, Kind, Level, Status, Target, Threat, ThreatType
from sirena.protocol.compat import IOT_MIN_LENGTH, OBLAST_ORDER, Locations, alerts_in_ua, ukrainealarm
from sirena.regions import load_builtin

T0 = datetime(2026, 10, 13, 7, 36, 50, 123000, tzinfo=UTC)
TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


@cache
def locations() -> Locations:
    return Locations(load_builtin("ua"))


def alert(
    alert_id: str,
    regions: tuple[str, ...],
    *,
    partial: tuple[str, ...] = (),
    kind: Kind = Kind.AIR_RAID,
    level: Level = Level.RED,
    threats: tuple[Threat, ...] = (),
    state: AlertState = AlertState.ACTIVE,
    started: datetime = T0,
) -> Alert:
    ended = started + timedelta(minutes=90) if state is not AlertState.ACTIVE else None
    return Alert(
        id=alert_id,
        version=1,
        state=state,
        target=Target(regions=regions),
        regions=regions,
        partial_regions=partial,
        kind=kind,
        level=level,
        status=Status.ACTUAL,
        threats=threats,
        issuer="test",
        started_at=started,
        updated_at=ended or started,
        ended_at=ended,
        headline={"uk": "Повітряна тривога", "en": "Air-raid alert"},
        instruction={"uk": "Пройдіть в укриття"},
    )


def test_oblast_order_is_the_shared_join_table(shared_data: Path) -> None:
    with (shared_data / "ua" / "oblast_ids.csv").open(encoding="utf-8") as f:
        rows = sorted(csv.DictReader(f), key=lambda r: int(r["iot_by_oblast_index"]))
    assert [r["alerts_in_ua_uid"] for r in rows] == list(OBLAST_ORDER)
    loc = locations()
    assert all(loc.get(uid).title == row["name_uk"] for uid, row in zip(OBLAST_ORDER, rows, strict=True))
    assert set(OBLAST_ORDER) == set(loc.states())


def test_location_types_parents_and_slots() -> None:
    loc = locations()
    kyiv, oblast, raion = loc.get("31"), loc.get("14"), loc.get("79")
    assert (kyiv.location_type, kyiv.region_type, kyiv.oblast_id, kyiv.raion_id) == ("city", "State", "31", None)
    assert (loc.get("30").location_type, oblast.location_type, raion.location_type) == ("city", "oblast", "raion")
    assert (raion.region_type, raion.oblast_id, raion.raion_id) == ("District", "14", "79")
    hromada = next(r for r in loc.registry.by_level("hromada") if r.parent_id == "79")
    found = loc.get(hromada.id)
    assert (found.location_type, found.region_type, found.oblast_id, found.raion_id) == (
        "hromada",
        "Community",
        "14",
        "79",
    )
    assert (found.slot, kyiv.slot, loc.get("UA").slot) == (int(hromada.id), 31, 0)
    assert loc.iot_length == IOT_MIN_LENGTH
    assert loc.expand(["31", "UA", "31"]) == ["31", *(s for s in loc.states() if s != "31")]


def test_alert_records_carry_every_key_even_when_null() -> None:
    loc = locations()
    threats = (Threat(ThreatType.DRONES, Level.YELLOW), Threat(ThreatType.BALLISTIC_MISSILES, Level.RED))
    records = alerts_in_ua.alert_records(alert("A", ("31", "79"), threats=threats), 42, loc)
    assert [r["id"] for r in records] == [420031, 420079]
    for record in records:
        assert tuple(record) == alerts_in_ua.RECORD_KEYS
        assert TIME.match(record["started_at"]) and TIME.match(record["updated_at"])
        assert record["finished_at"] is None
        assert (record["alert_type"], record["alert_level"], record["calculated"]) == ("air_raid", "red", False)
        assert [(t["threat_type"], t["level"]) for t in record["threats"]] == [
            ("drones", "yellow"),
            ("ballistic_missiles", "red"),
        ]
        assert record["threats"][0]["started_at"] == "2026-10-13T07:36:50.123Z"
    kyiv, raion = records
    assert (kyiv["location_uid"], kyiv["location_type"], kyiv["location_oblast_uid"], kyiv["location_raion"]) == (
        "31",
        "city",
        31,
        None,
    )
    assert (raion["location_oblast"], raion["location_oblast_uid"], raion["location_raion"]) == (
        "Київська область",
        14,
        "Броварський район",
    )
    assert raion["notes"] == "Пройдіть в укриття"


def test_a_nationwide_alert_is_one_record_per_oblast_and_partial_regions_get_none() -> None:
    loc = locations()
    nationwide = alerts_in_ua.alert_records(alert("A", ("UA",)), 7, loc)
    assert sorted(r["location_uid"] for r in nationwide) == sorted(OBLAST_ORDER)
    assert alerts_in_ua.alert_records(alert("B", (), partial=("14",)), 8, loc) == []


def test_envelope_meta_time_format() -> None:
    doc = alerts_in_ua.envelope([], T0, "d")
    assert doc == {
        "alerts": [],
        "meta": {"last_updated_at": "2026/10/13 07:36:50 +0000", "type": "full"},
        "disclaimer": "d",
    }


def test_iot_strings_mark_alert_partly_none_and_unassigned() -> None:
    loc = locations()
    alerts = [
        alert("A", ("31",)),
        alert("B", ("79",), level=Level.YELLOW),
        alert("C", ("16",), kind=Kind.ARTILLERY_SHELLING),
    ]
    states = domain.derive((a for a in alerts if a.kind is Kind.AIR_RAID), loc.registry)
    v1 = alerts_in_ua.iot_string(states, loc)
    v2 = alerts_in_ua.iot_string(states, loc, with_level=True)
    assert len(v1) == len(v2) == 1805
    assert v1[0:3] == "   "  # no location has UID 0, 1 or 2
    assert (v1[3], v1[31], v1[14], v1[79], v1[16]) == ("N", "A", "P", "A", "N")
    assert (v2[31], v2[14], v2[79]) == ("R", "P", "Y")
    assert set(v1) <= {" ", "A", "P", "N"} and set(v2) <= {" ", "R", "Y", "P", "N"}
    assert all(v1[int(r.id)] != " " for r in loc.registry if r.id != "UA")
    by_oblast = alerts_in_ua.iot_by_oblast(states)
    assert len(by_oblast) == 27
    assert (by_oblast[9], by_oblast[10], by_oblast[12]) == ("A", "P", "N")
    assert alerts_in_ua.iot_by_oblast(states, with_level=True)[9] == "R"


def test_ukrainealarm_region_inherits_parent_alerts_named_by_their_region() -> None:
    loc = locations()
    hromada = next(r for r in loc.registry.by_level("hromada") if r.parent_id == "79").id
    alerts = [
        alert("O", ("14",), threats=(Threat(ThreatType.DRONES, Level.YELLOW),)),
        alert("N", ("UA",), kind=Kind.NUCLEAR, started=T0 + timedelta(minutes=1)),
    ]
    index = ukrainealarm.targets(alerts)
    model = ukrainealarm.region_model(hromada, index, loc)
    assert (model["regionId"], model["regionType"]) == (hromada, "Community")
    assert [(a["regionId"], a["regionType"], a["type"]) for a in model["activeAlerts"]] == [
        ("14", "State", "AIR"),
        ("14", "State", "NUCLEAR"),
    ]
    assert model["activeAlerts"][0]["activeAlertLevels"] == [
        {"alertLevel": "Yellow", "reason": "БпЛА", "createdAt": "2026-10-13T07:36:50.123Z"}
    ]
    assert model["activeAlerts"][1]["activeAlertLevels"][0]["alertLevel"] == "Red"
    calm = ukrainealarm.region_model("31", ukrainealarm.targets([alerts[0]]), loc)
    assert (calm["activeAlerts"], calm["lastUpdate"]) == ([], ukrainealarm.NEVER)


def test_ukrainealarm_alert_list_has_a_record_per_issued_region() -> None:
    loc = locations()
    index = ukrainealarm.targets([alert("O", ("14", "79")), alert("E", ("22",), state=AlertState.ENDED)])
    listed = ukrainealarm.active_region_models(index, loc)
    assert [m["regionId"] for m in listed] == ["14", "79"]
    assert [a["regionId"] for a in listed[1]["activeAlerts"]] == ["79"]  # one entry per alert, nearest region


def test_regions_tree_nests_states_districts_communities() -> None:
    tree = ukrainealarm.regions_tree(locations())
    states = tree["states"]
    assert len(states) == 27
    kyiv_oblast = next(s for s in states if s["regionId"] == "14")
    district = kyiv_oblast["regionChildIds"][0]
    community = district["regionChildIds"][0]
    assert (kyiv_oblast["regionType"], district["regionType"], community["regionType"]) == (
        "State",
        "District",
        "Community",
    )
    assert community["regionChildIds"] == []
    assert set(community) == {"regionId", "regionName", "regionType", "regionChildIds"}


def test_history_and_timespans() -> None:
    loc = locations()
    now = T0 + timedelta(days=2)
    alerts = [alert(str(i), ("14",), state=AlertState.ENDED, started=T0 + timedelta(minutes=i)) for i in range(30)]
    alerts.append(alert("live", ("UA",), started=T0 + timedelta(days=1)))
    (history,) = ukrainealarm.region_history("79", alerts, loc, now)
    alarms = history["alarms"]
    assert len(alarms) == 25
    assert alarms[0] == {
        "regionId": "14",
        "regionName": "Київська область",
        "startDate": "2026-10-14T07:36:50.123Z",
        "endDate": "2026-10-15T07:36:50.123Z",
        "duration": "1.00:00:00",
        "alertType": "AIR",
        "isContinue": True,
    }
    assert (alarms[1]["duration"], alarms[1]["isContinue"]) == ("01:30:00", False)
    assert ukrainealarm.timespan(59) == "00:00:59"
    assert ukrainealarm.timespan(3 * 86_400 + 3723) == "3.01:02:03"


def test_webhook_payloads_are_region_models_after_the_change() -> None:
    loc = locations()
    ended = alert("E", ("31",), state=AlertState.ENDED)
    (payload,) = ukrainealarm.webhook_payloads(ended, ukrainealarm.targets([]), loc)
    assert (payload["regionId"], payload["activeAlerts"], payload["lastUpdate"]) == (
        "31",
        [],
        "2026-10-13T09:06:50.123Z",
    )
