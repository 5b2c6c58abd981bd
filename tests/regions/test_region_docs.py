"""The examples in docs/regions.md run as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parents[2]

DOC = REPOSITORY / "docs" / "regions.md"


def test_doc_examples_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocks = re.findall(r"```(\w*)\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    files = [code for lang, code in blocks if lang == "json"]
    programs = [code for lang, code in blocks if lang == "python"]
    assert len(files) == 1
    assert len(programs) == 3
    monkeypatch.chdir(tmp_path)
    (tmp_path / "tiny.json").write_text(files[0], encoding="utf-8")
    for number, program in enumerate(programs):
        exec(compile(program, f"{DOC.name} example {number + 1}", "exec"), {})
