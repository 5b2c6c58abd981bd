"""docs/cap.md on CAP exchange: the answer shown for ``POST /api/v1/cap`` is the real shape, every result is
documented, and the settings it names exist."""

from __future__ import annotations

import json
import re
from pathlib import Path

from cap_samples import cap

from sirena.cap.gateway import RESULTS
from sirena.settings import table
from sirena.testing import Api

DOC = Path(__file__).resolve().parents[2] / "docs" / "cap.md"


def test_every_result_is_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    for result in RESULTS:
        assert f"`{result}`" in text, result


def test_every_cap_setting_named_exists() -> None:
    names = {info.env for info in table()}
    named = set(re.findall(r"`(SIRENA_CAP_[A-Z_]+)`", DOC.read_text(encoding="utf-8")))
    assert named and named <= names
    assert {n for n in names if n.startswith("SIRENA_CAP_")} <= named


async def test_the_documented_answer_has_the_real_shape(api: Api) -> None:
    (shown,) = [json.loads(b) for b in re.findall(r"```json\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)]
    response = await api.client.post("/api/v1/cap", content=cap("UA-80-2025-0301-0001"), headers=api.auth)
    assert response.status_code == 200, response.text
    real = response.json()
    assert real.keys() == shown.keys()
    assert real["messages"][0].keys() == shown["messages"][0].keys()
    assert real["messages"][0]["result"] == shown["messages"][0]["result"] == "issued"
