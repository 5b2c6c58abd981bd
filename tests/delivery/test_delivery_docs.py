"""docs/delivery.md is tested: its receiver example runs and verifies real deliveries, its JSON shapes match."""

from __future__ import annotations

import asyncio
import json
import re
import sys
from pathlib import Path

from delivery_helpers import free_port, post, receiver, until

from sirena import testing
from sirena.delivery import homeassistant
from sirena.domain.state import RegionState

PAGE = Path(__file__).resolve().parents[2] / "docs" / "delivery.md"


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", PAGE.read_text(), re.S)


async def test_the_standard_library_receiver_verifies_real_deliveries(hooks_api: testing.Api, tmp_path: Path) -> None:
    api = hooks_api
    program = next(b for b in blocks("python") if "HTTPServer" in b)
    (tmp_path / "receiver.py").write_text(program)
    port = free_port()
    hook = await post(api.client, "/api/v1/webhooks", {"url": f"http://127.0.0.1:{port}/"}, api.auth)
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(tmp_path / "receiver.py"),
        str(port),
        hook["secret"],
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        alert = await post(api.client, "/api/v1/alerts", {"regions": ["31", "14"]}, api.auth)
        assert proc.stdout is not None
        line = (await asyncio.wait_for(proc.stdout.readline(), 30)).decode().split()
        assert line == [str(await api.runtime.store.last_seq()), "alert.issued", alert["id"], "31,14"]
        # the end is followed by an all-clear notice (no `alert` member): the receiver takes it and goes on
        await post(api.client, f"/api/v1/alerts/{alert['id']}/end", {}, api.auth)
        after = await post(api.client, "/api/v1/alerts", {"regions": ["31"]}, api.auth)
        lines = [(await asyncio.wait_for(proc.stdout.readline(), 30)).decode().split() for _ in range(3)]
        assert [line[1] for line in lines] == ["alert.ended", "alert.all_clear", "alert.issued"]
        assert lines[2][2] == after["id"]
    finally:
        proc.terminate()
        await proc.wait()


async def test_the_receiver_refuses_forgeries(hooks_api: testing.Api) -> None:
    namespace: dict[str, object] = {}
    exec(next(b for b in blocks("python") if "HTTPServer" in b), namespace)
    verify = namespace["verify"]
    api = hooks_api
    async with receiver() as target:
        hook = await post(api.client, "/api/v1/webhooks", {"url": target.url}, api.auth)
        await post(api.client, "/api/v1/alerts", {"regions": ["31"]}, api.auth)
        await target.wait_for(lambda: len(target.hits) == 1)
    hit = target.hits[0]
    assert verify(hook["secret"], hit.headers, hit.body)["type"] == "alert.issued"  # type: ignore[operator]
    for secret, body in ((hook["secret"], hit.body + b" "), ("whsec_" + "A" * 44, hit.body)):
        try:
            verify(secret, hit.headers, body)  # type: ignore[operator]
        except ValueError:
            continue
        raise AssertionError("forgery accepted")


async def test_json_examples_have_the_real_shapes(hooks_api: testing.Api) -> None:
    api = hooks_api
    examples = [json.loads(b) for b in blocks("json")]
    created_shown, attempt_shown = examples[0], examples[1]
    state_shown = next(e for e in examples if "since" in e)
    async with receiver() as target:
        created = await post(api.client, "/api/v1/webhooks", {"url": target.url}, api.auth)
        assert set(created) == set(created_shown)
        await post(api.client, "/api/v1/alerts", {"regions": ["31"]}, api.auth)

        async def logged() -> bool:
            rows = await api.client.get(f"/api/v1/webhooks/{created['id']}/deliveries", headers=api.auth)
            return bool(rows.json()["deliveries"])

        await until(logged)
        rows = (await api.client.get(f"/api/v1/webhooks/{created['id']}/deliveries", headers=api.auth)).json()
        assert set(rows["deliveries"][0]) == set(attempt_shown)
    assert set(homeassistant.region_state(RegionState("31"), {})) == set(state_shown)
