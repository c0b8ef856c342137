"""Dates of the school year, from one place.

Terms: spring runs Feb–Jul of year Y (`Y-spring`); autumn runs Sep of Y to Jan of Y+1
(`Y-autumn`). August belongs to no term; for "the term containing a date" it counts as the
autumn term about to start. School age for year Y: aged 6–15 on 31 August of Y, i.e. born
1 Sep (Y−16) … 31 Aug (Y−6).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from django.utils import timezone
from django.utils.translation import gettext as _

_TERM = re.compile(r"^(\d{4})-(spring|autumn)$")


@dataclass(frozen=True, order=True)
class Term:
    year: int
    season: str  # "spring" | "autumn"

    @property
    def code(self) -> str:
        return f"{self.year}-{self.season}"

    @property
    def label(self) -> str:
        """2026年秋季学期: how a term is named on every page, form and export (never its code)."""
        if self.season == "spring":
            return _("%(year)s年春季学期") % {"year": self.year}
        return _("%(year)s年秋季学期") % {"year": self.year}

    @property
    def start(self) -> dt.date:
        return dt.date(self.year, 2, 1) if self.season == "spring" else dt.date(self.year, 9, 1)

    @property
    def end(self) -> dt.date:
        if self.season == "spring":
            return dt.date(self.year, 7, 31)
        return dt.date(self.year + 1, 1, 31)

    def previous(self) -> Term:
        if self.season == "spring":
            return Term(self.year - 1, "autumn")
        return Term(self.year, "spring")

    def __str__(self) -> str:
        return self.code


def parse_term(code: str) -> Term:
    match = _TERM.match(code.strip())
    if not match:
        raise ValueError(f"学期格式应为 2024-spring 或 2024-autumn / term must look like 2024-spring: {code!r}")
    return Term(int(match.group(1)), match.group(2))


def term_label(code: str) -> str:
    """A term code's name (2026-autumn → 2026年秋季学期); anything else comes back as it is."""
    try:
        return parse_term(code).label
    except (ValueError, AttributeError):
        return code


_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_DAY = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_YEAR = re.compile(r"^(\d{4})$")


def period_label(value: str) -> str:
    """A period as people write it: a term (2026年秋季学期), a month (2026年11月), a day
    (2026年12月1日) or a year (2026年); anything else comes back as it is."""
    value = (value or "").strip()
    if _TERM.match(value):
        return term_label(value)
    if m := _MONTH.match(value):
        return _("%(year)s年%(month)s月") % {"year": m[1], "month": int(m[2])}
    if m := _DAY.match(value):
        return date_label(dt.date(int(m[1]), int(m[2]), int(m[3])))
    if _YEAR.match(value):
        return _("%(year)s年") % {"year": value}
    return value


_TERM_WORDS = re.compile(r"^(\d{4})年?(春季|秋季|春|秋)(学期)?$")
_MONTH_WORDS = re.compile(r"^(\d{4})年(\d{1,2})月$")
_YEAR_WORDS = re.compile(r"^(\d{4})年$")


def period_code(text: str) -> str:
    """What a person types for a period (2026年秋季学期, 2026秋, 2026年11月, 2026年) as the code
    stored on alerts; a code, or anything else, comes back as it is."""
    text = (text or "").strip().replace(" ", "")
    if m := _TERM_WORDS.match(text):
        return f"{m[1]}-{'spring' if m[2].startswith('春') else 'autumn'}"
    if m := _MONTH_WORDS.match(text):
        return f"{m[1]}-{int(m[2]):02d}"
    if m := _YEAR_WORDS.match(text):
        return m[1]
    return text


def date_label(day: dt.date | str | None) -> str:
    """2026年12月1日 (an ISO string is read first); empty for no date."""
    if not day:
        return ""
    if isinstance(day, str):
        try:
            day = dt.date.fromisoformat(day[:10])
        except ValueError:
            return day
    return _("%(year)s年%(month)s月%(day)s日") % {"year": day.year, "month": day.month, "day": day.day}


def term_of(day: dt.date) -> Term:
    if day.month == 1:
        return Term(day.year - 1, "autumn")
    if 2 <= day.month <= 7:
        return Term(day.year, "spring")
    return Term(day.year, "autumn")


def school_year_of(day: dt.date) -> int:
    """The calendar year a school year starts in (Sep Y – Aug Y+1 → Y)."""
    return day.year if day.month >= 9 else day.year - 1


def school_age_birth_range(year: int) -> tuple[dt.date, dt.date]:
    """Birth dates of children aged 6–15 on 31 August of `year` (inclusive range)."""
    return dt.date(year - 16, 9, 1), dt.date(year - 6, 8, 31)


def today() -> dt.date:
    return timezone.localdate()


# ----------------------------------------------------------------------------- school days

class SchoolCalendar:
    """Which days are school days: Monday–Friday, except the county's CalendarDay rows (weekday
    holidays, make-up weekend days). Load once per run over a window: one query."""

    def __init__(self, overrides: dict[dt.date, bool] | None = None):
        self.overrides = overrides or {}

    @classmethod
    def load(cls, start: dt.date, end: dt.date) -> SchoolCalendar:
        from kongchuo.models import CalendarDay

        return cls(dict(CalendarDay.objects.filter(date__range=(start, end))
                        .values_list("date", "school_day")))

    def is_school_day(self, day: dt.date) -> bool:
        return self.overrides.get(day, day.weekday() < 5)

    def next_school_day(self, day: dt.date) -> dt.date:
        """The first school day after `day` (a long holiday is skipped; bounded at 60 days)."""
        nxt = day + dt.timedelta(days=1)
        for _day in range(60):
            if self.is_school_day(nxt):
                return nxt
            nxt += dt.timedelta(days=1)
        return nxt

    def school_days_after(self, day: dt.date, n: int) -> dt.date:
        """The `n`-th school day after `day` (`day` itself not counted)."""
        for _step in range(n):
            day = self.next_school_day(day)
        return day
