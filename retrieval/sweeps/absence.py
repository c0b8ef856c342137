"""连续缺课 (daily): ≥ 3 consecutive school days of unexplained absence.

Rule (issue 5): the unexplained Absence rows (缺课登记) of a child, starting in the term
containing the as-of date and on or before it, are joined into runs: a row continues the run
before it when it starts no later than the first school day after that run ends (so Mon–Tue
then Wed–Thu is one run of four days, and so is Thu–Fri then Mon–Tue, or an absence either side
of the National Day week). School days are Monday–Friday except the county's calendar
exceptions (kongchuo.calendar.models.CalendarDay: weekday holidays, make-up weekends). An explained row,
or one covered by a 请假 on the child's record (the ledger's risk flag excuses it too), breaks
the run. A run of ≥ 3 school days (the rows' own counts, as the clerk entered them) is
one alert: period = the run's first day (ISO), subject = the 身份证件号. Explaining a row resolves
the alert if what is left is under 3 days. The run's own period is the term code. Routed to the
student's school.

The partition's unexplained rows of the term are read in one query (a few hundred at most: an
absence is registered by hand) and joined in Python.
"""

from __future__ import annotations

import datetime as dt
from itertools import groupby

from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from kongchuo.calendar.schoolyear import SchoolCalendar, term_of
from ledgers.models import Absence
from ledgers.selectors import covered_by_leave
from retrieval.models import Alert, Level
from retrieval.sweeps.base import Context, Finding, Partition, Rows, Sweep

DUE_DAYS = 3
MIN_DAYS = 3

COLUMNS = ("pk", "student_id", "student__id_number", "student__name", "student__school_id",
           "student__school__township_id", "start_date", "end_date", "school_days")


def absence_runs(rows, calendar: SchoolCalendar):
    """Join each child's rows (sorted by child, start) into runs; yields (first row, rows)."""
    for _student, group in groupby(rows, key=lambda r: r[1]):
        run, end = [], None
        for r in group:
            if run and r[6] <= calendar.next_school_day(end):
                run.append(r)
                end = max(end, r[7])
                continue
            if run:
                yield run
            run, end = [r], r[7]
        if run:
            yield run


def build(ctx: Context, partition: Partition) -> list[Rows]:
    term = term_of(ctx.as_of)
    rows = (Absence.objects.filter(explained=False, start_date__gte=term.start, start_date__lte=ctx.as_of)
            .filter(partition.schools("student__school")).filter(~covered_by_leave())
            .order_by("student_id", "start_date", "pk").values_list(*COLUMNS))
    calendar = SchoolCalendar.load(term.start, ctx.as_of + dt.timedelta(days=60))
    out = []
    for run in absence_runs(rows, calendar):
        days = sum(r[8] for r in run)
        if days < MIN_DAYS:
            continue
        first = run[0]
        out.append({
            "period": first[6].isoformat(), "subject": first[2], "student_id": first[1], "name": first[3],
            "school_id": first[4], "township_id": first[5], "level": Level.SCHOOL,
            "detail": {"absence": first[0], "absences": [r[0] for r in run], "start": first[6].isoformat(),
                       "end": max(r[7] for r in run).isoformat(), "school_days": days},
            "due_date": ctx.as_of + dt.timedelta(days=DUE_DAYS),
        })
    return [Rows(rows=out)]


def existing(ctx: Context) -> Q:
    term = term_of(ctx.as_of)
    return Q(period__gte=term.start.isoformat(), period__lte=ctx.as_of.isoformat())


SWEEP = Sweep(
    name="absence",
    label=_("连续缺课核查"),
    window=_("每日"),
    period=lambda as_of: term_of(as_of).code,
    findings=(Finding(Alert.Rule.ABSENCE, build, existing=existing),),
)
