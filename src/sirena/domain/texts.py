"""Default alert texts, from the message catalogue, in every catalogued language."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache

from sirena import messages
from sirena.domain.model import Kind, Status


def default_headline(kind: Kind, status: Status) -> dict[str, str]:
    """``{"uk": "Повітряна тривога", "en": "Air-raid alert"}``, prefixed with EXERCISE/TEST when not actual."""
    return dict(_default_headline(kind, status))


@lru_cache(maxsize=64)
def _default_headline(kind: Kind, status: Status) -> tuple[tuple[str, str], ...]:
    """The catalogue is read once per process, so each (kind, status) pair is worked out once."""
    texts = messages.all_languages(f"alert.kind.{kind.value}")
    if status is Status.ACTUAL:
        return tuple(texts.items())
    marks = messages.all_languages(f"alert.status.{status.value}")
    return tuple((lang, f"{marks[lang]}: {text}") for lang, text in texts.items())


def marked_headline(headline: Mapping[str, str], status: Status) -> dict[str, str]:
    """An issuer's own headline, with EXERCISE/TEST (НАВЧАННЯ/ТЕСТ) put in front of each language's text when the
    alert is not actual and the text does not begin with it already (English for a language the catalogue lacks):
    a drill can never read like a real warning, whatever its issuer wrote."""
    if status is Status.ACTUAL:
        return dict(headline)
    marks = _marks(status)
    marked = {}
    for lang, text in headline.items():
        mark = marks.get(lang) or marks[messages.DEFAULT_LANGUAGE]
        marked[lang] = text if _begins_with_word(text, mark) else f"{mark}: {text}"
    return marked


def _begins_with_word(text: str, word: str) -> bool:
    """Whether ``text`` begins with ``word`` as a whole word, in any case ("Test: …", "TEST …", but not
    "Testing …")."""
    head = text[: len(word)]
    return head.casefold() == word.casefold() and not text[len(word) : len(word) + 1].isalnum()


@lru_cache(maxsize=8)
def _marks(status: Status) -> dict[str, str]:
    return messages.all_languages(f"alert.status.{status.value}")


def retraction_instruction(reason: str | None = None) -> dict[str, str]:
    """The prepared "issued in error, no action needed" text a cancelled alert carries, with the reason if any."""
    texts = messages.all_languages("retraction.instruction")
    if reason and reason.strip():
        extra = messages.all_languages("retraction.reason", reason=reason.strip())
        return {lang: f"{text} {extra[lang]}" for lang, text in texts.items()}
    return texts
