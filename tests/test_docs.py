"""Docs are tested: generated pages are current and the examples work against the real API."""

from __future__ import annotations

import json
import re
from pathlib import Path

from click.testing import CliRunner

from sirena.cli import main
from sirena.testing import Api

ROOT = Path(__file__).resolve().parents[1]


def test_generated_reference_pages_are_current() -> None:
    result = CliRunner().invoke(main, ["docs", "--check", str(ROOT / "docs")])
    assert result.exit_code == 0, result.output


def test_readme_names_the_two_commands_and_make_has_them() -> None:
    readme = (ROOT / "README.md").read_text()
    makefile = (ROOT / "Makefile").read_text()
    for target in ("run", "test"):
        assert f"make {target}" in readme
        assert re.search(rf"^{target}:", makefile, re.M)
    for link in re.findall(r"\]\(((?:docs/|src/)[^)#]+)\)", readme):
        assert (ROOT / link).exists(), link


async def test_readme_tour_request_is_accepted(api: Api) -> None:
    readme = (ROOT / "README.md").read_text()
    body = json.loads(re.search(r"-d '(\{.*?\})'", readme, re.S).group(1))  # type: ignore[union-attr]
    response = await api.client.post("/api/v1/alerts", json=body, headers=api.auth)
    assert response.status_code == 201, response.text
    assert response.json()["status"] == "test"


async def test_api_doc_examples_match_the_api(api: Api) -> None:
    page = (ROOT / "docs" / "api.md").read_text()
    blocks = [json.loads(b) for b in re.findall(r"```json\n(.*?)```", page, re.S)]
    request, shown_alert, problem = blocks
    created = await api.client.post("/api/v1/alerts", json=request, headers=api.auth)
    assert created.status_code == 201, created.text
    assert set(created.json()) == set(shown_alert)
    bad = await api.client.post("/api/v1/alerts", json={"regions": ["99999"]}, headers=api.auth)
    assert bad.json() | {"instance": problem["instance"]} == problem
