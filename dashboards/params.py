"""The dashboard filters (school year / term, township, school kind, school) and the periods
they imply. One parser for the home pages and the drill-down lists, so a figure and the list
behind it always read the same filters.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, replace
from urllib.parse import urlencode

from django.utils.translation import gettext_lazy as _

from kongchuo.access.params import bounded_int
from kongchuo.calendar.schoolyear import Term, current_school_year, school_year_of, term_of, year_label
from kongchuo.calendar.schoolyear import today as local_today

SEASONS = (("", _("全学年")), ("autumn", _("秋季学期")), ("spring", _("春季学期")))
_CODE = re.compile(r"^[a-z0-9_]{1,24}$")
_MONTH = re.compile(r"^\d{4}-\d{2}$")
DIRECT = "direct"  # the township filter value meaning "county-direct schools"
YEARS_BACK = 9  # the year list reaches back to the oldest cohort a 巩固率 can still need
COHORT_SPAN = 8  # grade-1 entry in autumn Y-8 graduates from grade 9 in school year Y


@dataclass(frozen=True)
class Params:
    """What a dashboard page or drill-down list shows. All fields are plain values (hashable,
    picklable) so they key the cache."""

    year: int  # school year Y = Sep Y .. Aug Y+1
    season: str = ""  # "" whole year, "autumn" (Sep Y–Jan Y+1) or "spring" (Feb–Jul Y+1)
    township: int | None = None
    direct: bool = False  # county-direct schools only
    kind: str = ""
    school: int | None = None
    today: dt.date | None = None
    # Narrowing used only by drill-down links (a rule table cell, a trend month, a sweep run).
    rule: str = ""
    status: str = ""
    month: str = ""  # "YYYY-MM"
    run: int | None = None
    noschool: bool = False  # rows routed to a township (or the county) with no school
    #: The county's current school year (`kongchuo.calendar.schoolyear.current_school_year`: the next
    #: one once the rollover closed the calendar's); None: the calendar's.
    current: int | None = None

    # ----------------------------------------------------------------- periods

    @property
    def as_of(self) -> dt.date:
        """'Now' for figures that are a state (open, expiring, last month): today, or the end
        of the selected period when that period is over."""
        day = self.today or local_today()
        return min(day, self.period_end)

    @property
    def term(self) -> Term | None:
        if self.season == "autumn":
            return Term(self.year, "autumn")
        if self.season == "spring":
            return Term(self.year + 1, "spring")
        return None

    @property
    def month_range(self) -> tuple[dt.date, dt.date] | None:
        if not self.month:
            return None
        first = dt.date(int(self.month[:4]), int(self.month[5:7]), 1)
        nxt = (first + dt.timedelta(days=32)).replace(day=1)
        return first, nxt - dt.timedelta(days=1)

    @property
    def period_start(self) -> dt.date:
        if self.month_range:
            return self.month_range[0]
        return self.term.start if self.term else dt.date(self.year, 9, 1)

    @property
    def period_end(self) -> dt.date:
        if self.month_range:
            return self.month_range[1]
        return self.term.end if self.term else dt.date(self.year + 1, 8, 31)

    @property
    def year_start(self) -> dt.date:
        return dt.date(self.year, 9, 1)

    @property
    def year_end(self) -> dt.date:
        return dt.date(self.year + 1, 8, 31)

    @property
    def aid_term(self) -> Term:
        """The term whose 两免一补 coverage is shown: the chosen term, else the one running."""
        if self.term:
            return self.term
        term = term_of(self.as_of)
        if term.year < self.year or term.start < self.year_start:
            return Term(self.year, "autumn")
        return term

    @property
    def current_term(self) -> Term:
        return term_of(self.as_of)

    @property
    def cohort_year(self) -> int:
        return self.year - COHORT_SPAN

    @property
    def census_year(self) -> int:
        # The 户籍 list is taken in July–August before the school year starts.
        return self.year

    @property
    def current_year(self) -> int:
        return self.current if self.current is not None else school_year_of(self.today or local_today())

    @property
    def is_current_year(self) -> bool:
        """The year still running: its grade-9 children at school are still to graduate. A year
        closed by the rollover (or past) counts only its real 毕业 rows."""
        return self.year == self.current_year

    @property
    def last_month(self) -> tuple[dt.date, dt.date]:
        first_this = self.as_of.replace(day=1)
        last_prev = first_this - dt.timedelta(days=1)
        return last_prev.replace(day=1), last_prev

    @property
    def this_month(self) -> tuple[dt.date, dt.date]:
        first = self.as_of.replace(day=1)
        nxt = (first + dt.timedelta(days=32)).replace(day=1)
        return first, nxt - dt.timedelta(days=1)

    @property
    def months(self) -> list[dt.date]:
        """First days of the months of the period up to 'now' (trend chart axis)."""
        out = []
        day = self.period_start.replace(day=1)
        while day <= min(self.period_end, self.as_of):
            out.append(day)
            day = (day + dt.timedelta(days=32)).replace(day=1)
        return out

    # ----------------------------------------------------------------- links

    def query(self, **override) -> str:
        """The filters as a query string (without '?'); keyword overrides replace a field
        (None drops it), so a figure's link carries exactly the page's filters."""
        values: dict = {
            "year": self.year, "season": self.season,
            "township": DIRECT if self.direct else self.township,
            "kind": self.kind, "school": self.school,
            "rule": self.rule, "status": self.status, "month": self.month, "run": self.run,
            "noschool": 1 if self.noschool else None,
        }
        values.update(override)
        return urlencode({k: v for k, v in values.items() if v not in (None, "", False)})

    def with_unit(self, unit: dict) -> Params:
        """These filters narrowed to one row of a ranking table (a township or a school)."""
        if unit.get("noschool"):
            return replace(self, noschool=True)
        if unit.get("school"):
            return replace(self, school=unit["school"])
        if unit.get("direct"):
            return replace(self, direct=True, township=None)
        if unit.get("township"):
            return replace(self, township=unit["township"], direct=False)
        return self

    def cache_part(self) -> str:
        return (f"{self.year}|{self.season}|{self.township}|{self.direct}|{self.kind}|{self.school}"
                f"|{self.rule}|{self.status}|{self.month}|{self.run}|{self.noschool}|{self.as_of}")


def _int(raw: str | None) -> int | None:
    return bounded_int(raw)


def parse_params(data, *, today: dt.date | None = None, kinds: set[str] | None = None) -> Params:
    """Params from a GET mapping. Bad values fall back to the defaults rather than erroring:
    a hand-edited link still shows a page. Scoping is not decided here — every query goes
    through `visible_to`, so a township id outside the user's scope simply matches nothing."""
    day = today or local_today()
    current = current_school_year(day)
    year = _int(data.get("year"))
    if year is None or not (current - YEARS_BACK <= year <= current):
        year = current
    season = data.get("season", "")
    if season not in ("autumn", "spring"):
        season = ""
    raw_township = data.get("township", "")
    direct = raw_township == DIRECT
    township = None if direct else _int(raw_township)
    kind = data.get("kind", "")
    if kinds is not None and kind not in kinds:
        kind = ""
    rule = data.get("rule", "")
    status = data.get("status", "")
    month = data.get("month", "")
    if not _MONTH.match(month) or not (1 <= int(month[5:7] or 0) <= 12):
        month = ""
    return Params(year=year, season=season, township=township, direct=direct, kind=kind,
                  school=_int(data.get("school")), today=day,
                  rule=rule if _CODE.match(rule) else "", status=status if _CODE.match(status) else "",
                  month=month, run=_int(data.get("run")), noschool=data.get("noschool") == "1",
                  current=current)


def year_choices(current: int) -> list[tuple[int, str]]:
    """The school years a dashboard offers, newest first, from the current one."""
    return [(y, year_label(y)) for y in range(current, current - YEARS_BACK - 1, -1)]
