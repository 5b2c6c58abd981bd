"""Default alert texts, from the message catalogue, in every catalogued language."""

from __future__ import annotations

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


def retraction_instruction(reason: str | None = None) -> dict[str, str]:
    """The prepared "issued in error, no action needed" text a cancelled alert carries, with the reason if any."""
    texts = messages.all_languages("retraction.instruction")
    if reason and reason.strip():
        extra = messages.all_languages("retraction.reason", reason=reason.strip())
        return {lang: f"{text} {extra[lang]}" for lang, text in texts.items()}
    return texts
