"""连续缺课 (daily): ≥ 3 consecutive school days of unexplained absence.

Rule (issue 5): every Absence row (a run of consecutive school days, 缺课登记) with
`explained` false and `school_days` ≥ 3, starting in the term containing the as-of date and on
or before it. One alert per absence episode: period = the absence's start date (ISO), subject
= the student's 身份证件号. Explaining the absence resolves the alert. The run's own period is
the term code. Routed to the student's school.
"""

from __future__ import annotations

from django.db.models import CharField, F, Q
from django.db.models.functions import Cast, JSONObject
from django.utils.translation import gettext_lazy as _

from kongchuo.schoolyear import term_of
from ledgers.models import Absence
from retrieval.models import Alert, Level
from retrieval.sweeps.base import Context, Finding, Partition, Rows, Sweep, student_rows

DUE_DAYS = 3
MIN_DAYS = 3


def build(ctx: Context, partition: Partition) -> list[Rows]:
    term = term_of(ctx.as_of)
    qs = (Absence.objects.filter(explained=False, school_days__gte=MIN_DAYS,
                                 start_date__gte=term.start, start_date__lte=ctx.as_of)
          .filter(partition.schools("student__school")))
    detail = JSONObject(absence=F("pk"), start=Cast("start_date", CharField()),
                        end=Cast("end_date", CharField()), school_days=F("school_days"))
    return [student_rows(qs, ctx, level=Level.SCHOOL, detail=detail, due_days=DUE_DAYS,
                         period=Cast("start_date", CharField()), prefix="student__")]


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
