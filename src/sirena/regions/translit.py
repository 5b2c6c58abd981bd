"""Ukrainian-to-Latin transliteration by the official national system.

The system is the one adopted by resolution No. 55 of the Cabinet of Ministers of Ukraine (27 January 2010), the
form used for Ukrainian place names on maps, road signs and in official English-language data. Most letters have a
single Latin form; five have one form at the start of a word and another elsewhere::

    Є ye / ie    Ї yi / i    Й y / i    Ю yu / iu    Я ya / ia

"Г" is "h", but the pair "зг" becomes "zgh" so that it is not read as "zh". The soft sign and apostrophes are
dropped, and an apostrophe does not start a new word (Знам'янка → Znamianka). A hyphen, space or any other
non-letter does (Андрієво-Іванівка → Andriievo-Ivanivka). Characters outside the Ukrainian alphabet pass unchanged.
"""

from __future__ import annotations

__all__ = ["transliterate"]

_SIMPLE: dict[str, str] = {
    "а": "a",
    "б": "b",
    "в": "v",
    "г": "h",
    "ґ": "g",
    "д": "d",
    "е": "e",
    "ж": "zh",
    "з": "z",
    "и": "y",
    "і": "i",
    "к": "k",
    "л": "l",
    "м": "m",
    "н": "n",
    "о": "o",
    "п": "p",
    "р": "r",
    "с": "s",
    "т": "t",
    "у": "u",
    "ф": "f",
    "х": "kh",
    "ц": "ts",
    "ч": "ch",
    "ш": "sh",
    "щ": "shch",
}

# (at the start of a word, elsewhere)
_POSITIONAL: dict[str, tuple[str, str]] = {
    "є": ("ye", "ie"),
    "ї": ("yi", "i"),
    "й": ("y", "i"),
    "ю": ("yu", "iu"),
    "я": ("ya", "ia"),
}

# Dropped without ending the word: the soft sign and the apostrophe in its usual spellings.
_SILENT = frozenset("ьЬ'’ʼ`‘")


def transliterate(text: str) -> str:
    """``text`` with its Ukrainian letters in the official Latin transliteration.

    Capitals stay capitals: a capital letter gives a capitalised form ("Щ" → "Shch"), or an all-capital one when
    its neighbours are capitals too ("ЩАСТЯ" → "SHCHASTIA").
    """
    out: list[str] = []
    in_word = False
    previous = ""
    for index, char in enumerate(text):
        if char in _SILENT:
            continue
        lower = char.lower()
        if lower == "г" and previous == "з":
            latin = "gh"
        elif lower in _SIMPLE:
            latin = _SIMPLE[lower]
        elif lower in _POSITIONAL:
            latin = _POSITIONAL[lower][1 if in_word else 0]
        else:
            out.append(char)
            in_word = char.isalpha()
            previous = lower
            continue
        if char != lower:
            latin = latin.upper() if _shouting(text, index) else latin[0].upper() + latin[1:]
        out.append(latin)
        in_word = True
        previous = lower
    return "".join(out)


def _shouting(text: str, index: int) -> bool:
    """Whether the capital at ``index`` stands among capitals (an all-capital word), not at a word's start."""
    for step in (1, -1):
        at = index + step
        while 0 <= at < len(text) and text[at] in _SILENT:
            at += step
        if 0 <= at < len(text) and text[at].isalpha():
            return text[at].isupper()
    return False
