"""Every file shipped in src/sirena/data is credited in ATTRIBUTION.md, and the credited licences are there."""

from __future__ import annotations

import re
from fnmatch import fnmatch
from pathlib import Path

from sirena.regions import load_builtin

DATA = Path(__file__).resolve().parents[2] / "src" / "sirena" / "data"
ATTRIBUTION = DATA / "ATTRIBUTION.md"


def test_every_data_file_is_listed() -> None:
    text = ATTRIBUTION.read_text(encoding="utf-8")
    patterns = [token for token in re.findall(r"`([^`]+)`", text) if "*" in token]
    unlisted = []
    for path in sorted(DATA.rglob("*")):
        if not path.is_file() or "__pycache__" in path.parts:
            continue
        relative = path.relative_to(DATA).as_posix()
        listed = relative in text or path.name in text or any(fnmatch(relative, p) for p in patterns)
        if not listed:
            unlisted.append(relative)
    assert unlisted == [], "add these files to src/sirena/data/ATTRIBUTION.md"


def test_licence_texts_are_shipped() -> None:
    licences = DATA / "LICENSES"
    odbl = (licences / "ODbL-1.0.txt").read_text(encoding="utf-8")
    assert "https://opendatacommons.org/licenses/odbl/1-0/" in odbl
    assert "© OpenStreetMap contributors" in odbl
    mit = (licences / "MIT-ukrainian-air-raid-sirens-dataset.txt").read_text(encoding="utf-8")
    assert "Copyright (c) 2022 Vadym Klymenko" in mit
    assert "Permission is hereby granted, free of charge" in mit
    for name in re.findall(r"LICENSES/([\w.-]+\.txt)", ATTRIBUTION.read_text(encoding="utf-8")):
        assert (licences / name).is_file(), name


def test_the_registry_carries_the_openstreetmap_credit() -> None:
    attribution = load_builtin().attribution
    assert attribution is not None
    assert "© OpenStreetMap contributors" in attribution
    assert "ODbL" in attribution
