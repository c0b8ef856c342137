"""Pinyin initials for name search (张三 → zs), with the surnames pypinyin gets wrong.

The one engine for initials, used by the forms, the demo data and the imports. pypinyin
segments a run of Chinese characters by its phrase dictionary and reads a segment that is not
a phrase character by character, so when no substring (2 characters or more) of a name is a
phrase the initials are the first letters of its characters read alone: a table lookup per
character. Only the other names (a phrase inside, a character that is not Chinese) go through
pypinyin's whole pipeline, which is too slow for a county roster's 200,000 names.
"""

from __future__ import annotations

from functools import lru_cache

from pypinyin import Style, lazy_pinyin
from pypinyin.constants import PHRASES_DICT, RE_HANS

# Polyphonic surnames read differently as family names.
SURNAME_INITIALS = {"曾": "z", "单": "s", "解": "x", "仇": "q", "区": "o", "朴": "p", "查": "z",
                    "盖": "g", "尉": "y", "乐": "y", "覃": "q", "翟": "z", "缪": "m", "万俟": "mq"}
_SURNAMES_BY_FIRST: dict[str, list[tuple[str, str]]] = {}
for _surname, _initials in SURNAME_INITIALS.items():  # in order: the first surname that matches wins
    _SURNAMES_BY_FIRST.setdefault(_surname[0], []).append((_surname, _initials))
_UNSEEN = object()
_LETTER: dict[str, str | None] = {}  # a character → its first letter read alone (None: not Chinese)


def name_initials(name: str) -> str:
    """The initials of `name` as pypinyin reads it, with the surname rules ("" for a blank)."""
    name = (name or "").strip()
    if not name:
        return ""
    got = _initials_by_character(name)
    return got if got is not None else pypinyin_initials(name)


@lru_cache(maxsize=65536)
def pypinyin_initials(name: str) -> str:
    """name_initials through pypinyin's whole pipeline (phrases, non-Chinese characters)."""
    name = (name or "").strip()
    if not name:
        return ""
    for surname, initials in SURNAME_INITIALS.items():
        if name.startswith(surname):
            rest = name[len(surname):]
            return initials + "".join(
                p[0] for p in lazy_pinyin(rest, style=Style.FIRST_LETTER) if p)[:18]
    letters = lazy_pinyin(name, style=Style.FIRST_LETTER)
    return "".join(p[0].lower() for p in letters if p)[:20]


def _letter(ch: str) -> str | None:
    got = _LETTER.get(ch, _UNSEEN)
    if got is _UNSEEN:
        got = None
        if RE_HANS.match(ch):
            got = "".join(p[0] for p in lazy_pinyin(ch, style=Style.FIRST_LETTER) if p)
        _LETTER[ch] = got
    return got  # type: ignore[return-value]


def _letters(text: str) -> str | None:
    """The characters' letters read alone, or None when pypinyin would read a phrase in it."""
    n = len(text)
    if any(text[i:j] in PHRASES_DICT for i in range(n - 1) for j in range(i + 2, n + 1)):
        return None
    out = [_letter(ch) for ch in text]
    return None if None in out else "".join(out)  # type: ignore[arg-type]


def _initials_by_character(name: str) -> str | None:
    """name_initials a character at a time, or None when the name needs pypinyin itself."""
    if len(name) > 8:
        return None
    for surname, initials in _SURNAMES_BY_FIRST.get(name[0], ()):
        if name.startswith(surname):
            rest = _letters(name[len(surname):])
            return None if rest is None else initials + rest[:18]
    got = _letters(name)
    return None if got is None else got.lower()[:20]
