"""A receiver that hangs for 30 s delays nobody else: the other endpoint keeps getting its deliveries at the
normal latency, and the hanging one still gets everything, in order, once it answers."""

from __future__ import annotations

import asyncio
import statistics
import time
from pathlib import Path

import pytest
from delivery_helpers import FAST_RETRIES, post, receiver, verified

from sirena import testing

pytestmark = pytest.mark.slow

HANG_S = 30.0


async def test_one_hanging_receiver_never_delays_another(tmp_path: Path) -> None:
    overrides = {**FAST_RETRIES, "webhook_timeout_s": HANG_S + 30}
    async with testing.api(tmp_path, **overrides) as api, receiver() as slow, receiver() as fast:
        slow_hook = await post(api.client, "/api/v1/webhooks", {"url": slow.url}, api.auth)
        fast_hook = await post(api.client, "/api/v1/webhooks", {"url": fast.url}, api.auth)

        async def issue(region: str) -> tuple[str, float]:
            alert = await post(api.client, "/api/v1/alerts", {"regions": [region]}, api.auth)
            return alert["id"], time.monotonic()

        async def latency(target: object, alert_id: str, since: float) -> float:
            hits = target.delivered  # type: ignore[attr-defined]
            await target.wait_for(lambda: any(h.json["alert"]["id"] == alert_id for h in hits()))  # type: ignore[attr-defined]
            return next(h.at for h in hits() if h.json["alert"]["id"] == alert_id) - since

        regions = [r.id for r in api.runtime.registry.children("UA")]
        baseline = []
        for region in regions[:5]:  # both receivers healthy
            alert_id, at = await issue(region)
            baseline.append(await latency(fast, alert_id, at))
            await latency(slow, alert_id, at)
        slow.hang_next_s = HANG_S
        hung_at = time.monotonic()
        issued: list[str] = []
        during = []
        for region in regions[5:17]:  # while the slow receiver sits on its request
            alert_id, at = await issue(region)
            issued.append(alert_id)
            during.append(await latency(fast, alert_id, at))
            await asyncio.sleep(1.5)
        fast_done = time.monotonic()
        assert fast_done - hung_at < HANG_S  # the fast receiver had everything before the slow one answered once
        assert len(slow.hits) == 6  # 5 before the hang, and the one it is sitting on
        await slow.wait_for(lambda: len(slow.delivered()) == 17, within=HANG_S + 30)
        slow_done = time.monotonic()
        for target, hook in ((slow, slow_hook), (fast, fast_hook)):
            got = [verified(hook["secret"], h)["alert"]["id"] for h in target.delivered()]
            assert got[5:] == issued  # complete and in order, for both
            assert len(got) == len(set(got)) == 17
        report = (
            f"fast receiver latency ms: baseline median {statistics.median(baseline) * 1000:.1f} "
            f"max {max(baseline) * 1000:.1f}; during the {HANG_S:.0f} s hang median "
            f"{statistics.median(during) * 1000:.1f} max {max(during) * 1000:.1f} (n={len(during)}); "
            f"slow receiver had all 12 held messages {slow_done - hung_at:.1f} s after the hang began"
        )
        print(report)
        assert max(during) < 5.0, report  # a generous sanity bound, not a benchmark
