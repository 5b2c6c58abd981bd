"""CAP Alert, Update and Cancel posted to a real server reach live stream clients as alert changes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from cap_samples import KYIV_OBLAST_ID, cap, ref

from sirena import auth, testing
from sirena.runtime import Runtime


@pytest.fixture
async def live(tmp_path: Path) -> AsyncIterator[tuple[Runtime, str, dict[str, str]]]:
    async with testing.running(testing.settings_for(tmp_path, stream_heartbeat_s=0.2)) as rt:
        token, _ = await auth.create(rt.store, "cap-feeder")
        async with testing.serve(rt) as base:
            yield rt, base, {"Authorization": f"Bearer {token}", "Content-Type": "application/cap+xml"}


async def test_alert_update_and_cancel_reach_the_live_stream(live: tuple[Runtime, str, dict[str, str]]) -> None:
    _rt, base, headers = live
    update = cap(
        "A-2",
        "2025-03-01T08:30:00+02:00",
        msg_type="Update",
        references=ref("A-1", "2025-03-01T08:15:00+02:00"),
        area=KYIV_OBLAST_ID,
        headline="Тривога поширилась",
    )
    cancel = cap(
        "A-3", "2025-03-01T08:40:00+02:00", msg_type="Cancel", references=ref("A-2", "2025-03-01T08:30:00+02:00")
    )
    async with testing.stream(base) as reader, httpx.AsyncClient(base_url=base) as client:
        assert (await reader.next())["event"] == "snapshot"
        posted = await client.post("/api/v1/cap", content=cap("A-1"), headers=headers)
        assert posted.status_code == 200, posted.text
        (alert_id,) = posted.json()["alert_ids"]
        issued = await reader.next()
        assert (issued["event"], issued["data"]["alert"]["id"]) == ("alert.issued", alert_id)
        assert issued["data"]["alert"]["regions"] == ["31"]

        assert (await client.post("/api/v1/cap", content=update, headers=headers)).status_code == 200
        updated = await reader.next()
        assert (updated["event"], updated["data"]["alert"]["id"]) == ("alert.updated", alert_id)
        assert updated["data"]["alert"]["regions"] == ["14"]
        assert updated["data"]["alert"]["headline"] == {"uk": "Тривога поширилась"}

        assert (await client.post("/api/v1/cap", content=cancel, headers=headers)).status_code == 200
        cancelled = await reader.next()
        assert (cancelled["event"], cancelled["data"]["alert"]["state"]) == ("alert.cancelled", "cancelled")
