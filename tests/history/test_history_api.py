"""GET /api/v1/regions/{id}/history: the alerts behind the statistics, newest first, page by page."""

from __future__ import annotations

from pathlib import Path

from history_support import Imported, ms, raw_alerts

from sirena import testing
from sirena.regions import RegionRegistry


async def test_a_regions_history_page_by_page(
    imported: Imported, tmp_path: Path, raw: dict[str, list[dict[str, str]]], ua: RegionRegistry
) -> None:
    imported.copy(tmp_path, "sirena.db")
    low, high = ms("2022-10-09T21:00:00+00:00"), ms("2022-10-16T21:00:00+00:00")  # a Kyiv week
    expected = sorted(
        (started for (source, region, started) in raw_alerts(raw, ua) if region == "31" and source == "official"),
        reverse=True,
    )
    expected = [s for s in expected if low <= s < high]
    async with testing.api(tmp_path) as api:
        seen: list[dict] = []
        params = {"from": "2022-10-10", "to": "2022-10-17", "limit": "3"}
        cursor = None
        for _ in range(50):
            page = await api.client.get(
                "/api/v1/regions/31/history", params={**params, **({"cursor": cursor} if cursor else {})}
            )
            assert page.status_code == 200, page.text
            body = page.json()
            assert len(body["alerts"]) <= 3
            seen += body["alerts"]
            cursor = body["next"]
            if cursor is None:
                break
        assert [ms(a["started_at"].replace("Z", "+00:00")) for a in seen] == expected
        assert {(a["source"], a["state"], a["status"], tuple(a["regions"])) for a in seen} == {
            ("official", "ended", "actual", ("31",))
        }
        assert len({a["id"] for a in seen}) == len(seen)
        volunteer = await api.client.get(
            "/api/v1/regions/31/history", params={**params, "source": "volunteer", "limit": "1000"}
        )
        assert {a["source"] for a in volunteer.json()["alerts"]} == {"volunteer"}
        below = await api.client.get(
            "/api/v1/regions/9/history", params={**params, "descendants": "true", "limit": "1000"}
        )
        assert {a["regions"][0] for a in below.json()["alerts"]} - {"9"}  # the oblast's hromadas too
        missing = await api.client.get("/api/v1/regions/99999/history")
        assert missing.status_code == 404
        bad = await api.client.get("/api/v1/regions/31/history", params={"cursor": "nonsense"})
        assert bad.status_code == 422
        assert bad.json()["field"] == "cursor"
        luhansk = await api.client.get("/api/v1/regions/16/history", params={"from": "2022-04-04", "to": "2022-04-05"})
        (long_running,) = luhansk.json()["alerts"]
        assert long_running["started_at"] == "2022-04-04T16:45:00.000Z"
