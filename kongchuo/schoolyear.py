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
        return f"{self.year}年{'春季' if self.season == 'spring' else '秋季'}学期"

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
        for _ in range(60):
            if self.is_school_day(nxt):
                return nxt
            nxt += dt.timedelta(days=1)
        return nxt

    def school_days_after(self, day: dt.date, n: int) -> dt.date:
        """The `n`-th school day after `day` (`day` itself not counted)."""
        for _ in range(n):
            day = self.next_school_day(day)
        return day
