"""docs/cap.md: its examples run as written and its table names every issue code."""

from __future__ import annotations

import re
from pathlib import Path

from sirena.protocol.cap.issues import issue_codes

DOC = Path(__file__).resolve().parents[2] / "docs" / "cap.md"


def test_doc_examples_run() -> None:
    text = DOC.read_text(encoding="utf-8")
    programs = re.findall(r"```python\n(.*?)```", text, re.S)
    assert len(programs) >= 2
    for number, program in enumerate(programs):
        exec(compile(program, f"{DOC.name} example {number + 1}", "exec"), {})


def test_doc_lists_every_issue_code() -> None:
    text = DOC.read_text(encoding="utf-8")
    for code in issue_codes():
        assert f"`{code}`" in text, code
