"""Dates of the school year, from one place.

School year Y (code `2024`) runs 1 September Y – 31 August Y+1 and has two terms: autumn
(`Y-autumn`, Sep Y – Jan Y+1) and spring (`Y+1-spring`, Feb – Jul Y+1). August belongs to no
term; for "the term containing a date" it counts as the autumn term about to start. Each term
opens on the day the county sets (`kongchuo.calendar.models.SchoolYear`; default 1 September / 1
February). School age for year Y: aged 6–15 on 31 August of Y, i.e. born 1 Sep (Y−16) … 31 Aug
(Y−6).

*The current school year* is the one the county's records are in: the calendar's
(`school_year_of(today)`), or the next one once the calendar's year has been closed by the
year-end rollover (学年结转, run in July or August: the children are then in their new grades).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from kongchuo.calendar.models import CalendarDay, SchoolYear

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

    @property
    def school_year(self) -> int:
        """The school year the term belongs to (spring Y+1 belongs to year Y)."""
        return self.year if self.season == "autumn" else self.year - 1

    @property
    def season_label(self) -> str:
        return str(SEASON_LABELS[self.season])

    @property
    def full_label(self) -> str:
        """"2026–2027学年 秋季学期": how the header and reports name a term."""
        return f"{year_label(self.school_year)} {self.season_label}"

    def previous(self) -> Term:
        if self.season == "spring":
            return Term(self.year - 1, "autumn")
        return Term(self.year, "spring")

    def __str__(self) -> str:
        return self.code


SEASON_LABELS = {"autumn": _("秋季学期"), "spring": _("春季学期")}
FIRST_YEAR, LAST_YEAR = 2000, 2100  # the years SchoolYear rows and commands accept


def year_label(year: int) -> str:
    """"2024–2025学年" for school year 2024."""
    return gettext("%(start)d–%(end)d学年") % {"start": year, "end": year + 1}


def year_start(year: int) -> dt.date:
    return dt.date(year, 9, 1)


def year_end(year: int) -> dt.date:
    return dt.date(year + 1, 8, 31)


def year_terms(year: int) -> tuple[Term, Term]:
    """The two terms of school year `year`: autumn Y, spring Y+1."""
    return Term(year, "autumn"), Term(year + 1, "spring")


def graduation_day(year: int) -> dt.date:
    """The day school year `year`'s leavers graduate (毕业): 1 July Y+1."""
    return dt.date(year + 1, 7, 1)


def promotion_day(year: int) -> dt.date:
    """The day the children of school year `year` start their next grade: 1 September Y+1."""
    return dt.date(year + 1, 9, 1)


def parse_year(text: str | int) -> int:
    """A school-year code ("2024" → 2024) or ValueError with a message in the user's language."""
    raw = str(text).strip()
    if not raw.isdigit() or not FIRST_YEAR <= int(raw) <= LAST_YEAR:
        raise ValueError(gettext("学年应为 %(first)s–%(last)s 的四位年份（2024 即 2024–2025学年）：%(raw)s")
                         % {"first": FIRST_YEAR, "last": LAST_YEAR, "raw": repr(raw)})
    return int(raw)


def parse_term(code: str) -> Term:
    match = _TERM.match(code.strip())
    if not match:
        raise ValueError(gettext("学期格式应为 2024-spring 或 2024-autumn：%(code)s") % {"code": repr(code)})
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
        text = day
        try:
            day = dt.date.fromisoformat(text[:10])
        except ValueError:
            return text
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


# ----------------------------------------------------------------------------- the county's years

def last_closed_year() -> int | None:
    """The latest school year closed by the rollover, or None (one small query)."""
    return (SchoolYear.objects.filter(closed_at__isnull=False).order_by("-year")
            .values_list("year", flat=True).first())


def current_school_year(day: dt.date | None = None) -> int:
    """The school year the county's records are in (see the module notes).

    Only in July and August can it run ahead of the calendar's: a year is closed from its
    graduation day (1 July) on, and from 1 September the calendar has caught up. So the other
    ten months ask the database nothing (the header shows the year on every page)."""
    day = day or today()
    calendar = school_year_of(day)
    if day.month not in (7, 8):
        return calendar
    closed = last_closed_year()
    return closed + 1 if closed is not None and closed + 1 > calendar else calendar


def current_term(day: dt.date | None = None) -> Term:
    """The term running (or, in August, about to start) in the current school year."""
    day = day or today()
    year = current_school_year(day)
    if year > school_year_of(day):  # closed early, in summer: the new year's autumn term
        return Term(year, "autumn")
    return term_of(day)


def opening_window(term: Term) -> tuple[dt.date, dt.date]:
    """The days a term's opening may be set to: autumn in August–September, spring in
    February–March (so the term of each date, `term_of`, stays the term it opens)."""
    if term.season == "autumn":
        return dt.date(term.year, 8, 1), dt.date(term.year, 9, 30)
    return dt.date(term.year, 2, 1), dt.date(term.year, 3, 31)


def term_opens(term: Term) -> dt.date:
    """The day `term` opens: the county's date if set, else the default (1 Sep / 1 Feb)."""
    field = "autumn_opens" if term.season == "autumn" else "spring_opens"
    day = (SchoolYear.objects.filter(year=term.school_year).values_list(field, flat=True)
           .first())
    return day or term.start


# ----------------------------------------------------------------------------- school days

class SchoolCalendar:
    """Which days are school days: Monday–Friday, except the county's CalendarDay rows (weekday
    holidays, make-up weekend days). Load once per run over a window: one query."""

    def __init__(self, overrides: dict[dt.date, bool] | None = None):
        self.overrides = overrides or {}

    @classmethod
    def load(cls, start: dt.date, end: dt.date) -> SchoolCalendar:
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
