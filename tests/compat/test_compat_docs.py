"""The examples in docs/compat.md run as written against a real Sirena, and the shown shape is the real one."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import re
from pathlib import Path

import pytest
import uasiren.client
from alerts_in_ua import AsyncClient
from compat_live import UAA, Live

DOC = Path(__file__).resolve().parents[2] / "docs" / "compat.md"


def blocks(lang: str) -> list[str]:
    return [
        code
        for found, code in re.findall(r"```(\w*)\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
        if found == lang
    ]


def run(program: str, name: str, live: Live) -> str:
    program = program.replace('SIRENA = "http://127.0.0.1:8000"', f'SIRENA = "{live.base}"')
    program = re.sub(r'TOKEN = "sir_\.\.\."', f'TOKEN = "{live.token}"', program)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(program, name, "exec"), {"__name__": "__doc_example__"})
    return out.getvalue()


async def test_python_examples_run_against_sirena(live: Live, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(AsyncClient, "API_BASE_URL", AsyncClient.API_BASE_URL)  # restored after the test
    monkeypatch.setattr(uasiren.client.Client, "BASE_PATH", uasiren.client.Client.BASE_PATH)
    await live.issue(["31"], threats=[{"type": "ballistic_missiles", "level": "red"}])
    programs = blocks("python")
    assert len(programs) == 3
    outputs = [await asyncio.to_thread(run, p, f"compat.md example {i + 1}", live) for i, p in enumerate(programs)]
    assert "м. Київ red ['ballistic_missiles']" in outputs[0]
    assert "active:м. Київ" in outputs[1]
    assert "27 oblast-level regions" in outputs[2] and "['AIR']" in outputs[2]


async def test_the_shown_region_model_has_the_served_keys(live: Live) -> None:
    (shown,) = json.loads(blocks("json")[0])
    await live.issue(["14"], threats=[{"type": "drones", "level": "yellow"}])
    (served,) = (await live.get(f"{UAA}/api/v3/alerts/79", {"Authorization": live.token})).json()
    assert set(served) == set(shown)
    assert set(served["activeAlerts"][0]) == set(shown["activeAlerts"][0])
    assert served["activeAlerts"][0]["activeAlertLevels"] == [
        {**shown["activeAlerts"][0]["activeAlertLevels"][0], "createdAt": served["activeAlerts"][0]["lastUpdate"]}
    ]
