"""The message catalogue: every user-facing string by key, in Ukrainian and English at least.

Strings live in ``sirena/data/messages/*.toml``, one file per area, each key a table with one entry per
language::

    [error.not_found]
    en = "Nothing is here."
    uk = "Тут нічого немає."

Placeholders use ``str.format`` syntax; a missing placeholder value is shown as ``{name}`` rather than raising,
so a message can never turn an error into a crash.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import Any

DEFAULT_LANGUAGE = "en"
LANGUAGES = ("uk", "en")


class _Keep(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


@cache
def catalogue() -> Mapping[str, Mapping[str, str]]:
    """All messages, merged from every catalogue file (read once, on first use)."""
    merged: dict[str, dict[str, str]] = {}
    folder = resources.files("sirena") / "data" / "messages"
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".toml"):
            continue
        data = tomllib.loads(entry.read_text(encoding="utf-8"))
        _flatten(data, "", merged)
    return merged


def _flatten(node: Mapping[str, Any], prefix: str, out: dict[str, dict[str, str]]) -> None:
    """A table's string values are its languages; its sub-tables are further keys."""
    texts = {lang: value for lang, value in node.items() if isinstance(value, str)}
    if texts and prefix:
        if prefix in out:
            raise ValueError(f"message key defined twice: {prefix}")
        out[prefix] = texts
    for name, value in node.items():
        if isinstance(value, Mapping):
            _flatten(value, f"{prefix}.{name}" if prefix else name, out)


def t(key: str, lang: str = DEFAULT_LANGUAGE, /, **values: Any) -> str:
    """The message ``key`` in ``lang`` (falling back to English, then to the key itself), formatted."""
    entry = catalogue().get(key)
    text = key if entry is None else entry.get(lang) or entry.get(DEFAULT_LANGUAGE) or key
    if not values:
        return text
    # a list reads as words (``actual, exercise, test``), never as Python's ``['actual', ...]``
    shown = {k: ", ".join(map(str, v)) if isinstance(v, list | tuple) else v for k, v in values.items()}
    return text.format_map(_Keep(shown))


class Phrase:
    """A message kept as its key and values and put into a language only when it is shown: an error raised once
    gives its reason in each reader's language (``Phrase("validation.reason.empty")``)."""

    __slots__ = ("key", "values")

    def __init__(self, key: str, /, **values: Any) -> None:
        self.key = key
        self.values = values

    def say(self, lang: str = DEFAULT_LANGUAGE) -> str:
        return t(self.key, lang, **self.values)

    def __str__(self) -> str:
        return self.say()

    def __repr__(self) -> str:
        return f"Phrase({self.key!r}, **{self.values!r})"


def said(value: Any, lang: str = DEFAULT_LANGUAGE) -> Any:
    """``value`` with every :class:`Phrase` in it (in dicts and lists too) said in ``lang``."""
    if isinstance(value, Phrase):
        return value.say(lang)
    if isinstance(value, dict):
        return {k: said(v, lang) for k, v in value.items()}
    if isinstance(value, list):
        return [said(v, lang) for v in value]
    return value


def all_languages(key: str, /, **values: Any) -> dict[str, str]:
    """The message in every catalogued language, e.g. for alert texts that travel in several languages."""
    return {lang: t(key, lang, **values) for lang in LANGUAGES}


def pick_language(accept_language: str | None) -> str:
    """The best catalogue language for an ``Accept-Language`` header (``en`` when none fits)."""
    if not accept_language:
        return DEFAULT_LANGUAGE
    ranked: list[tuple[float, str]] = []
    for part in accept_language.split(","):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        ranked.append((quality, tag.strip().lower().split("-")[0]))
    for _, lang in sorted(ranked, key=lambda r: -r[0]):
        if lang in LANGUAGES:
            return lang
    return DEFAULT_LANGUAGE
