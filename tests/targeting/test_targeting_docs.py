"""The public API of sirena.targeting and sirena.shelters is what __all__ says; docs/targeting.md runs as written."""

from __future__ import annotations

import re
from pathlib import Path

import sirena.shelters
import sirena.targeting

DOC = Path(__file__).resolve().parents[2] / "docs" / "targeting.md"


def test_exported_members() -> None:
    assert {"PlaceRegistry", "AlertArea", "RegionClosure", "PointResolver", "TimeToShelter"} <= set(
        sirena.targeting.__all__
    )
    assert {"ShelterDirectory", "read", "Shelter", "ImportReport"} <= set(sirena.shelters.__all__)
    for module in (sirena.targeting, sirena.shelters):
        for name in module.__all__:
            assert hasattr(module, name), name


def test_doc_examples_run() -> None:
    programs = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    assert programs
    for number, program in enumerate(programs):
        exec(compile(program, f"{DOC.name} example {number + 1}", "exec"), {})
