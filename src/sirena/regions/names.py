"""Looking regions up by name: folding spellings together and indexing every name and alias."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType

from sirena.regions.region import Region

__all__ = ["NameIndex", "fold_name"]

_APOSTROPHES = str.maketrans(dict.fromkeys("’ʼ`‘′´", "'"))


def fold_name(name: str) -> str:
    """The form two spellings of one name share: case-folded, apostrophes unified, whitespace collapsed."""
    return " ".join(name.translate(_APOSTROPHES).casefold().split())


class NameIndex:
    """Folded name → ids of the regions bearing it, over every language and per language."""

    __slots__ = ("_any", "_by_lang")

    def __init__(self, regions: Iterable[Region]) -> None:
        any_lang: dict[str, list[str]] = {}
        by_lang: dict[str, dict[str, list[str]]] = {}
        for region in regions:
            for lang, name in _all_names(region):
                key = fold_name(name)
                _add(any_lang, key, region.id)
                _add(by_lang.setdefault(lang, {}), key, region.id)
        self._any: Mapping[str, tuple[str, ...]] = _freeze(any_lang)
        self._by_lang: Mapping[str, Mapping[str, tuple[str, ...]]] = MappingProxyType(
            {lang: _freeze(index) for lang, index in by_lang.items()}
        )

    def lookup(self, name: str, lang: str | None = None) -> tuple[str, ...]:
        """Ids of the regions with ``name`` (in ``lang`` only, when given), in registry order."""
        index = self._any if lang is None else self._by_lang.get(lang, {})
        return index.get(fold_name(name), ())


def _all_names(region: Region) -> Iterable[tuple[str, str]]:
    yield from region.names.items()
    for lang, aliases in region.aliases.items():
        for alias in aliases:
            yield lang, alias


def _add(index: dict[str, list[str]], key: str, region_id: str) -> None:
    ids = index.setdefault(key, [])
    if region_id not in ids:
        ids.append(region_id)


def _freeze(index: dict[str, list[str]]) -> Mapping[str, tuple[str, ...]]:
    return MappingProxyType({key: tuple(ids) for key, ids in index.items()})
