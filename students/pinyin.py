"""Pinyin initials for name search (张三 → zs), with the surnames pypinyin gets wrong."""

from __future__ import annotations

from functools import lru_cache

from pypinyin import Style, lazy_pinyin

# Polyphonic surnames read differently as family names.
SURNAME_INITIALS = {"曾": "z", "单": "s", "解": "x", "仇": "q", "区": "o", "朴": "p", "查": "z",
                    "盖": "g", "尉": "y", "乐": "y", "覃": "q", "翟": "z", "缪": "m", "万俟": "mq"}


@lru_cache(maxsize=65536)
def name_initials(name: str) -> str:
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
