"""Sirena's benchmarks (``make bench``; see ``__main__``)."""

from __future__ import annotations

from typing import Any


def row(name: str, figure: float, unit: str, baseline: float, baseline_name: str, target: str = "") -> dict[str, Any]:
    """One figure of a benchmark, beside its baseline from the same run and the ratio of the two."""
    return {
        "name": name,
        "figure": round(figure, 5),
        "unit": unit,
        "baseline": round(baseline, 5),
        "baseline_name": baseline_name,
        "ratio": round(figure / baseline, 4) if baseline else None,
        "target": target,
    }
