"""The public API of sirena.geo is what __all__ says, and the examples in docs/geo.md run as written."""

from __future__ import annotations

import re
from pathlib import Path

import sirena.geo

DOC = Path(__file__).resolve().parents[2] / "docs" / "geo.md"


def test_exported_members() -> None:
    assert sirena.geo.__all__ == [
        "CIRCLE_TOLERANCE_M",
        "EARTH_RADIUS_M",
        "NearestIndex",
        "PointIndex",
        "circle",
        "haversine_m",
        "normalize",
    ]
    for name in sirena.geo.__all__:
        assert hasattr(sirena.geo, name), name


def test_doc_examples_run() -> None:
    programs = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    assert programs
    for number, program in enumerate(programs):
        exec(compile(program, f"{DOC.name} example {number + 1}", "exec"), {})
