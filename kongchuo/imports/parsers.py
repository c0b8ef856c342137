"""Cell parsers for import fields: each factory returns `parse(cell) -> value` raising
CellError, over the normalisers of kongchuo.imports.cells (with fast paths for the common
cell). `memoize` caches a parser per distinct cell: 200,000 grades cost a dozen real parses.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext_noop

from kongchuo.access.idnumbers import birth_date_from_digits
from kongchuo.imports import cells
from kongchuo.imports.cells import CellError, Text, quoted

Parser = Callable[[Any], Any]
_MEMO_LIMIT = 100_000


def is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip().strip("\u200b\ufeff"))


class FailedParse:
    """A cached CellError (code and message), raised afresh on every hit."""

    __slots__ = ("code", "text")

    def __init__(self, exc: CellError) -> None:
        self.code, self.text = exc.code, exc.text


_MISS = object()


def memoize(parse: Parser) -> Parser:
    """Cache `parse` per distinct cell. Text cells are keyed by the string itself (its hash is
    cached by Python); other cells by (type, value), so 1, 1.0 and True stay apart."""
    memo: dict[Any, Any] = {}

    def cached(value: Any) -> Any:
        key = value if value.__class__ is str else (value.__class__, value)
        try:
            hit = memo.get(key, _MISS)
        except TypeError:  # unhashable: never from calamine, but be safe
            return parse(value)
        if hit is _MISS:
            try:
                hit = parse(value)
            except CellError as exc:
                hit = FailedParse(exc)
            if len(memo) < _MEMO_LIMIT:
                memo[key] = hit
        if hit.__class__ is FailedParse:
            raise CellError(hit.code, hit.text)
        return hit

    return cached


_EDGE = frozenset("'‘’\u200b\u200c\u200d\ufeff")
# Characters a cell may not start or end with on the fast path: the edge marks and every
# character str.strip() removes.
TRIMMED = _EDGE | frozenset(chr(c) for c in range(0x3000 + 1) if chr(c).isspace())


def text(*, required: bool = False, max_length: int | None = None) -> Parser:
    """cells.parse_text, with a fast path for the common cell: a str already in NFKC form
    with nothing to trim (for such a cell parse_text returns it unchanged)."""
    limit = max_length or 1 << 30
    is_normalized = unicodedata.is_normalized
    trimmed = TRIMMED

    def parse(value: Any) -> str:
        if (value.__class__ is str and value and len(value) <= limit
                and value[0] not in trimmed and value[-1] not in trimmed
                and is_normalized("NFKC", value)):
            return value
        return cells.parse_text(value, required=required, max_length=max_length)
    return parse


_ID_SHAPE = re.compile(r"[0-9]{17}[0-9X]")
_EARLIEST = dt.date(1900, 1, 1)
_ID_CHECK = "0123456789X"  # (1 - 2·Σ) mod 11: the ISO 7064 MOD 11-2 digit, as python-stdnum


def id_number(*, required: bool = True) -> Parser:
    """cells.parse_id (GB 11643), with a fast path for an ID that is already clean and
    valid; anything else (full-width digits, spaces, apostrophes, lower-case x, numbers, bad
    check digits) goes through parse_id, which normalises it or names the error."""
    # Births up to two days ago take the fast path; parse_id judges the last days exactly.
    recent = timezone.localdate() - dt.timedelta(days=2)
    fullmatch = _ID_SHAPE.fullmatch

    def parse(value: Any) -> str | None:
        # 13 ≡ 2 (mod 11): reading the digits in base 13 sums them with GB 11643's weights.
        if (value.__class__ is str and len(value) == 18 and fullmatch(value)
                and _ID_CHECK[(1 - 2 * int(value[:17], 13)) % 11] == value[17]):
            born = birth_date_from_digits(value[6:14])
            if born is not None and _EARLIEST <= born <= recent:
                return value
        return cells.parse_id(value, required=required)
    return parse


def date(*, required: bool = False) -> Parser:
    return partial(cells.parse_date, required=required)


def year_month(*, required: bool = False) -> Parser:
    """A year-month as the first day of that month (how 入学年月 is stored)."""
    def parse(value: Any) -> dt.date | None:
        ym = cells.parse_year_month(value, required=required)
        return dt.date(ym[0], ym[1], 1) if ym else None
    return parse


def grade(*, required: bool = False) -> Parser:
    return partial(cells.parse_grade, required=required)


def boolean() -> Parser:
    return cells.parse_bool


def sex(*, required: bool = False) -> Parser:
    return partial(cells.parse_sex, required=required)


def norm_key(value: Any) -> str:
    """A name as compared with stored names: NFKC, no whitespace at all, no apostrophe."""
    if value is None:
        return ""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", str(value))).lstrip("'‘’")


def choice(mapping: Mapping[str, Any], *, required: bool = False, default: Any = None) -> Parser:
    """A value from a fixed list of spellings (compared normalised, case-insensitive)."""
    table = {norm_key(k).upper(): v for k, v in mapping.items()}

    def parse(value: Any) -> Any:
        if is_blank(value):
            if required:
                raise CellError("required_missing")
            return default
        raw = cells.parse_text(value)
        key = norm_key(raw).upper()
        if key not in table:
            raise CellError("value_invalid", hint=quoted(raw))
        return table[key]
    return parse


def code(digits: int, *, required: bool = False) -> Parser:
    """A numeric code of fixed length (学校标识码, 乡镇代码) that Excel may hold as a number."""
    def parse(value: Any) -> str:
        raw = cells.parse_text(value, required=required)
        if not raw:
            return ""
        key = norm_key(raw)
        if not re.fullmatch(rf"[0-9]{{{digits}}}", key):
            raise CellError("value_invalid", hint=Text(gettext_noop("应为%(digits)s位数字%(value)s"),
                                                       digits=digits, value=quoted(raw, 20)))
        return key
    return parse
