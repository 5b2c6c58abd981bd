"""docs/history.md: its Python example runs, and its stats example is what the API answers for the shipped data."""

from __future__ import annotations

import json
import re
from pathlib import Path

from history_support import Imported

from sirena import testing

DOC = Path(__file__).resolve().parents[2] / "docs" / "history.md"


def _blocks(lang: str) -> list[str]:
    return [
        code for kind, code in re.findall(r"```(\w*)\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S) if kind == lang
    ]


def test_the_python_example_runs() -> None:
    (program,) = _blocks("python")
    exec(compile(program, f"{DOC.name} example", "exec"), {"__name__": "__doc_example__"})


async def test_the_stats_example_is_the_real_answer(imported: Imported, tmp_path: Path) -> None:
    (shown,) = [json.loads(block) for block in _blocks("json")]
    imported.copy(tmp_path, "sirena.db")
    async with testing.api(tmp_path) as api:
        query = {"region": "31", "from": "2022-10-10", "to": "2022-10-12", "group": "day"}
        response = await api.client.get("/api/v1/stats", params=query)
    assert response.json() == shown
