"""One region: a node of the region tree, with its names and codes (its outline lives in the registry)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

__all__ = ["Region"]

_EMPTY_CODES: Mapping[str, str] = MappingProxyType({})
_EMPTY_ALIASES: Mapping[str, tuple[str, ...]] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class Region:
    """A region of a country's tree.

    ``level`` is "country", "oblast", "raion" or "hromada" for Ukraine and any string for other countries.
    ``names`` maps a language tag to the region's name in that language (Ukrainian regions have ``uk`` and
    ``en``). ``codes`` holds official codes such as ``katottg`` and ``iso3166_2``. ``aliases`` maps a language
    tag to other names the region is known by (a former name, a transliterated form); :meth:`RegionRegistry.find`
    matches them too.
    """

    id: str
    level: str
    names: Mapping[str, str] = field(hash=False)
    parent_id: str | None
    children: tuple[str, ...] = ()
    codes: Mapping[str, str] = field(default_factory=lambda: _EMPTY_CODES, hash=False)
    aliases: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: _EMPTY_ALIASES, hash=False)

    def name(self, lang: str = "en") -> str:
        """The name in ``lang``, else the English one, else the first one given."""
        found = self.names.get(lang) or self.names.get("en")
        if found:
            return found
        return next(iter(self.names.values()), self.id)
