"""The public API of sirena.regions is exactly what __all__ says."""

from __future__ import annotations

import sirena.regions


def test_exported_members() -> None:
    assert sorted(sirena.regions.__all__) == [
        "FORMAT",
        "Region",
        "RegionRegistry",
        "builtin_countries",
        "dump_data",
        "dumps",
        "load_builtin",
        "load_data",
        "load_file",
        "transliterate",
        "write_file",
    ]
    for name in sirena.regions.__all__:
        member = getattr(sirena.regions, name)
        assert isinstance(member, str) or member.__module__.startswith("sirena.regions.")
