"""Region data shipped inside the package: ``sirena/data/<country>/regions.json``."""

from __future__ import annotations

import json
import re
from importlib import resources
from importlib.resources.abc import Traversable

from sirena.errors import DataError
from sirena.regions.regionfile import load_data
from sirena.regions.registry import RegionRegistry

__all__ = ["builtin_countries", "load_builtin"]

_COUNTRY = re.compile(r"[a-z]{2,3}")
_FILE = "regions.json"


def load_builtin(country: str = "ua") -> RegionRegistry:
    """The registry for a country whose region data ships with Sirena (today: ``"ua"``).

    Each call reads and indexes the file again, so keep the registry you get (the app keeps one for its
    lifetime). Raises :class:`~sirena.errors.DataError` for a country without built-in data.
    """
    code = country.strip().lower()
    entry = _data_folder() / code / _FILE if _COUNTRY.fullmatch(code) else None
    if entry is None or not entry.is_file():
        raise DataError("regions.builtin.unknown", country=country, available=", ".join(builtin_countries()) or "-")
    text = entry.read_text(encoding="utf-8")
    return load_data(json.loads(text), source=f"sirena/data/{code}/{_FILE}")


def builtin_countries() -> tuple[str, ...]:
    """Codes of the countries with built-in region data, sorted."""
    folder = _data_folder()
    return tuple(
        sorted(entry.name for entry in folder.iterdir() if _COUNTRY.fullmatch(entry.name) and (entry / _FILE).is_file())
    )


def _data_folder() -> Traversable:
    return resources.files("sirena") / "data"
