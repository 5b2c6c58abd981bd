"""The real PyPI ``alerts-in-ua`` clients (sync ``Client`` and ``AsyncClient``) against a real Sirena."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import alerts_in_ua
import alerts_in_ua.client
import pytest
import requests
from alerts_in_ua import AsyncClient, Client
from compat_live import AIU, Live, live_server

from sirena import auth
from sirena.history.importer import HistoryFile, import_history


def sync_client(live: Live, token: str | None = None) -> Client:
    client = Client(token=live.token if token is None else token)
    client.base_url = f"{live.base}{AIU}/v1/"
    return client


@pytest.fixture
def async_client(live: Live, monkeypatch: pytest.MonkeyPatch) -> AsyncClient:
    monkeypatch.setattr(AsyncClient, "API_BASE_URL", live.base)
    client = AsyncClient(token=live.token)
    client.base_url = f"{AIU}/v1/"
    return client


async def call(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run a blocking client call off the event loop that serves it."""
    return await asyncio.to_thread(fn, *args, **kwargs)


async def scenario(live: Live) -> dict[str, dict[str, Any]]:
    """Kyiv city red with two threats, Zaporizhzhia yellow, a Kyiv-oblast raion red, Kharkiv artillery; an
    exercise for the whole country and a test for Odesa that must never show."""
    return {
        "kyiv": await live.issue(
            ["31"],
            threats=[{"type": "drones", "level": "yellow"}, {"type": "ballistic_missiles", "level": "red"}],
            instruction={"uk": "Негайно в укриття"},
        ),
        "zap": await live.issue(["12"], level="yellow", threats=[{"type": "drones", "level": "yellow"}]),
        "raion": await live.issue(["79"]),
        "kharkiv": await live.issue(["22"], kind="artillery_shelling"),
        "exercise": await live.issue(["UA"], status="exercise"),
        "test": await live.issue(["18"], status="test"),
    }


async def test_active_alerts_through_both_clients(live: Live, async_client: AsyncClient) -> None:
    made = await scenario(live)
    for alerts in (await call(sync_client(live).get_active_alerts), await async_client.get_active_alerts()):
        assert len(alerts) == 4
        assert {a.location_uid for a in alerts} == {"31", "12", "79", "22"}
        (kyiv,) = alerts.get_alerts_by_location_uid("31")
        assert isinstance(kyiv.id, int)
        assert (kyiv.location_title, kyiv.location_type, kyiv.alert_type) == ("м. Київ", "city", "air_raid")
        assert kyiv.is_red() and kyiv.has_threats() and kyiv.finished_at is None and not kyiv.is_finished()
        assert kyiv.started_at == datetime.fromisoformat(made["kyiv"]["started_at"].replace("Z", "+00:00"))
        assert str(kyiv.started_at.tzinfo) == "Europe/Kyiv"
        assert [(t.threat_type, t.level) for t in kyiv.threats] == [("drones", "yellow"), ("ballistic_missiles", "red")]
        assert kyiv.threats[0].is_yellow() and kyiv.threats[1].is_red()
        assert kyiv.notes == "Негайно в укриття"
        assert [a.location_uid for a in alerts.get_yellow_alerts()] == ["12"]
        assert [a.location_uid for a in alerts.get_artillery_shelling_alerts()] == ["22"]
        assert len(alerts.get_air_raid_alerts()) == 3
        assert [a.location_uid for a in alerts.get_alerts_with_threat_type("ballistic_missiles")] == ["31"]
        assert [a.location_title for a in alerts.get_alerts_by_location_type("raion")] == ["Броварський район"]
        assert [a.location_raion for a in alerts.get_alerts_by_oblast_uid(14)] == ["Броварський район"]
        assert alerts.get_alerts_by_oblast("Київська область")[0].location_uid == "79"
        assert alerts.get_last_updated_at() == datetime(2026, 1, 1, 0, 0, 4, tzinfo=UTC)
        assert "Sirena" in alerts.get_disclaimer()


async def test_history_lists_ended_alerts_but_never_cancelled_ones(live: Live, async_client: AsyncClient) -> None:
    first = await live.issue(["14"])
    await live.act(first["id"], "end")
    mistaken = await live.issue(["79"])
    await live.act(mistaken["id"], "cancel")
    running = await live.issue(["79"], kind="urban_fights")
    elsewhere = await live.issue(["31"])
    for history in (
        await call(sync_client(live).get_alerts_history, 14),
        await call(sync_client(live).get_alerts_history, "Київська область", period="month_ago"),
        await async_client.get_alerts_history(14),
        await async_client.get_alerts_history("14", period="week_ago"),
    ):
        assert [(a.location_uid, a.alert_type, a.is_finished()) for a in history] == [
            ("79", "urban_fights", False),
            ("14", "air_raid", True),
        ]
        assert history.alerts[1].finished_at is not None
    assert elsewhere["id"] and running["id"]
    with pytest.raises(alerts_in_ua.ApiError):
        await async_client.get_alerts_history(14, period="year_ago")


async def test_iot_strings_v1_and_v2_through_both_clients(live: Live, async_client: AsyncClient) -> None:
    await scenario(live)
    sync = sync_client(live)
    registry = live.runtime.registry
    under = {"12", "31", "79", *registry.descendants("12"), *registry.descendants("79")}
    for statuses in (await call(sync.get_air_raid_alert_statuses), await async_client.get_air_raid_alert_statuses()):
        assert len(statuses) == len(live.runtime.registry) - 1  # every UID but the country; spaces are skipped
        assert statuses.get_status(0) is None
        assert {s.uid for s in statuses.get_active_alert_statuses()} == {int(r) for r in under}
        assert [s.uid for s in statuses.get_partly_active_alert_statuses()] == [14]
        assert statuses.get_status(22).status == "no_alert"  # artillery is not an air-raid alert
        assert statuses.get_status(18).status == "no_alert"  # a test alert never shows
    leveled = await async_client.get_air_raid_alert_statuses(include_alert_level=True)
    yellow = {12, *(int(r) for r in registry.descendants("12"))}
    assert {s.uid for s in leveled.get_red_alert_statuses()} == {int(r) for r in under} - yellow
    assert {s.uid for s in leveled.get_yellow_alert_statuses()} == yellow
    again = await call(sync.get_air_raid_alert_statuses, include_alert_level=True)
    assert {s.uid for s in again.get_yellow_alert_statuses()} == yellow

    for oblasts in (
        await call(sync.get_air_raid_alert_statuses_by_oblast),
        await async_client.get_air_raid_alert_statuses_by_oblast(),
    ):
        assert len(oblasts) == 27
        assert [o.location_title for o in oblasts.get_active_alert_oblasts()] == ["Запорізька область", "м. Київ"]
        assert [o.location_title for o in oblasts.get_partly_active_alert_oblasts()] == ["Київська область"]
    only = await async_client.get_air_raid_alert_statuses_by_oblast(oblast_level_only=True, include_alert_level=True)
    assert only.get_partly_active_alert_oblasts() == []
    assert [o.location_title for o in only.get_yellow_alert_oblasts()] == ["Запорізька область"]
    assert [o.location_title for o in only.get_red_alert_oblasts()] == ["м. Київ"]

    kyiv = await async_client.get_air_raid_alert_status(31)
    assert kyiv.is_active_on_all_oblast() and kyiv.alert_level is None
    assert (await call(sync.get_air_raid_alert_status, "Київська область")).is_partly_active()
    assert (await async_client.get_air_raid_alert_status(14, oblast_level_only=True)).is_no_alert()
    assert (await async_client.get_air_raid_alert_status(12, include_alert_level=True)).is_yellow()
    assert (await call(sync.get_air_raid_alert_status, 31, include_alert_level=True)).is_red()
    assert (await async_client.get_air_raid_alert_status(18)).is_no_alert()
    with pytest.raises(alerts_in_ua.ApiError):
        await async_client.get_air_raid_alert_status(9999)


@pytest.fixture
def statuses(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Every HTTP status the clients receive, in order (observed, not altered)."""
    seen: list[int] = []
    real_get = requests.get
    real_session_get = aiohttp.ClientSession.get

    def sync_get(*args: Any, **kwargs: Any) -> requests.Response:
        response = real_get(*args, **kwargs)
        seen.append(response.status_code)
        return response

    async def session_get(self: aiohttp.ClientSession, *args: Any, **kwargs: Any) -> aiohttp.ClientResponse:
        response = await real_session_get(self, *args, **kwargs)
        seen.append(response.status)
        return response

    monkeypatch.setattr(alerts_in_ua.client.requests, "get", sync_get)
    monkeypatch.setattr(aiohttp.ClientSession, "get", session_get)
    return seen


async def test_clients_cache_with_304_and_see_every_change(
    live: Live, async_client: AsyncClient, statuses: list[int]
) -> None:
    kyiv = await live.issue(["31"])
    live.clock.advance(2)  # the change's second is over: its Last-Modified is final
    sync = sync_client(live)
    first = await call(sync.get_active_alerts)
    again = await call(sync.get_active_alerts)
    assert statuses == [200, 304]
    assert [a.id for a in again] == [a.id for a in first]
    await async_client.get_air_raid_alert_statuses_by_oblast()
    await async_client.get_air_raid_alert_statuses_by_oblast()
    assert statuses[2:] == [200, 304]

    await live.act(kyiv["id"], "end")  # a change within the second of the cached copy's successor
    after = await call(sync.get_active_alerts)
    assert len(after) == 0
    assert statuses[4:] == [200, 200]  # conditional request refused, then the fresh document
    assert (await async_client.get_air_raid_alert_statuses_by_oblast()).get_active_alert_oblasts() == []


async def test_last_modified_and_if_modified_since(live: Live) -> None:
    url = f"{AIU}/v1/alerts/active.json?token={live.token}"
    await live.issue(["31"])
    fresh = await live.get(url)
    assert fresh.headers["content-type"] == "application/json"
    # within the second of the change the label is one second earlier and 304 is never answered
    assert fresh.headers["last-modified"] == "Thu, 01 Jan 2026 00:00:00 GMT"
    assert (await live.get(url, {"If-Modified-Since": fresh.headers["last-modified"]})).status_code == 200
    live.clock.advance(1)
    settled = await live.get(url)
    assert settled.headers["last-modified"] == "Thu, 01 Jan 2026 00:00:01 GMT"
    same = await live.get(url, {"If-Modified-Since": settled.headers["last-modified"]})
    assert (same.status_code, same.content, same.headers["last-modified"]) == (
        304,
        b"",
        settled.headers["last-modified"],
    )
    for header in ("", "not a date"):
        assert (await live.get(url, {"If-Modified-Since": header})).status_code == 200
    older = await live.get(url, {"If-Modified-Since": "Wed, 31 Dec 2025 23:59:59 GMT"})
    assert older.status_code == 200
    for path in (
        "/v1/iot/active_air_raid_alerts.json",
        "/v2/iot/active_air_raid_alerts_by_oblast.json",
        "/v1/iot/active_air_raid_alerts/31.json",
        "/v1/regions/31/alerts/week_ago.json",
    ):
        answer = await live.get(
            f"{AIU}{path}?token={live.token}", {"If-Modified-Since": settled.headers["last-modified"]}
        )
        assert (answer.status_code, answer.content) == (304, b""), path


async def test_bad_missing_and_revoked_tokens_get_401(live: Live, async_client: AsyncClient) -> None:
    with pytest.raises(alerts_in_ua.UnauthorizedError) as info:
        await call(sync_client(live, "sir_not-a-token").get_active_alerts)
    assert "unknown or revoked" in str(info.value) and "401" in str(info.value)
    with pytest.raises(alerts_in_ua.UnauthorizedError):
        await call(sync_client(live, "").get_active_alerts)
    missing = await live.get(f"{AIU}/v1/alerts/active.json")
    assert (missing.status_code, missing.headers["content-type"]) == (401, "application/json")
    assert set(missing.json()) == {"message"}
    record = await live.runtime.store.find_token(auth.hash_token(live.token))
    assert record is not None
    await live.runtime.store.revoke_token(record.id)
    with pytest.raises(alerts_in_ua.UnauthorizedError):
        await async_client.get_active_alerts()


async def test_rate_limit_per_token_gives_429(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    async with live_server(tmp_path, compat_rate_limit=3) as live:
        monkeypatch.setattr(AsyncClient, "API_BASE_URL", live.base)
        client = AsyncClient(token=live.token)
        client.base_url = f"{AIU}/v1/"
        for _ in range(3):
            await client.get_air_raid_alert_status(31, use_cache=False)
        with pytest.raises(alerts_in_ua.RateLimitError) as info:
            await client.get_air_raid_alert_status(31, use_cache=False)
        assert "429" in str(info.value)
        limited = await live.get(f"{AIU}/v1/alerts/active.json?token={live.token}")
        assert limited.status_code == 429
        assert set(limited.json()) == {"message"} and int(limited.headers["retry-after"]) >= 1


async def test_served_at_the_root_the_async_client_needs_only_its_base_url(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with live_server(tmp_path, compat_alerts_in_ua_prefix="") as live:
        await live.issue(["31"])
        monkeypatch.setattr(AsyncClient, "API_BASE_URL", live.base)
        alerts = await AsyncClient(token=live.token).get_active_alerts()
        assert [a.location_uid for a in alerts] == ["31"]


async def test_history_includes_imported_alerts_with_estimated_ends(live: Live, async_client: AsyncClient) -> None:
    rows = (
        "region,started_at,finished_at,naive\n"
        "Kyivska oblast,2025-12-28 10:00:00+00:00,2025-12-28 10:45:00+00:00,False\n"
        "Kyivska oblast,2025-12-29 21:00:00+00:00,2025-12-29 21:30:00+00:00,True\n"
        "Kyivska oblast,2025-11-01 08:00:00+00:00,2025-11-01 09:00:00+00:00,False\n"
    )
    report = await import_history(
        live.runtime.store, live.runtime.registry, [HistoryFile("volunteer_data_en.csv", rows.encode())]
    )
    assert report.alerts >= 3
    live_alert = await live.issue(["79"])
    week = await async_client.get_alerts_history(14, period="week_ago")
    assert [(a.location_uid, a.calculated, a.started_at.astimezone(UTC).day) for a in week] == [
        ("79", False, 1),
        ("14", True, 29),
        ("14", False, 28),
    ]
    ids = [a.id for a in week]
    assert len(set(ids)) == 3 and all(isinstance(i, int) for i in ids)
    month = await async_client.get_alerts_history(14, period="month_ago")
    assert len(month) == 3  # November is more than 30 days before 1 January
    assert [a.id for a in await async_client.get_alerts_history(14, period="week_ago", use_cache=False)] == ids
    assert live_alert["regions"] == ["79"]
