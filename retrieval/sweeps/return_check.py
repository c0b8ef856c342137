"""返校核查 (Feb–Mar, Sep): every student 在读 on the as-of date who has not reported back.

Rule (issue 5): term = the term containing as-of (`kongchuo.calendar.schoolyear.term_of`); nothing is
due before the day the county set for the term to open (`term_opens`, default 1 Feb / 1 Sep:
issue 16). From that day, alert every
student whose status on the as-of date is 在读 — read from the dated status history, so a change
effective after as-of does not count — who has no 返校报到 (ReturnReport) for that term and no
请假 or 休学 covering the as-of date. Period = the term code, e.g. ``2024-spring``. Routed to
the student's school (school → township → county).

新学期名册缺失 (rule ``roster_missing``, issue 16): a child of a school whose roster for the term
was imported, missing from it (students.RosterGap, listed by the term's first roster of that
school and struck off by any later one), is from the term's start a suspected dropout unless
explained on the as-of date: still at that school, status on the as-of date 在读 (a 转出,
转学中, 毕业, 休学 … explains it) and no 请假/休学 covering the day. Period = the term code; routed
to the school.
"""

from __future__ import annotations

from django.db.models import Exists, OuterRef
from django.db.models.functions import JSONObject
from django.utils.translation import gettext_lazy as _

from kongchuo.calendar.schoolyear import term_of, term_opens
from ledgers.models import ReturnReport
from retrieval.models import Alert, Level
from retrieval.sweeps.base import (
    Context,
    Finding,
    Partition,
    Rows,
    Sweep,
    absence_covering,
    status_was,
    student_rows,
    text,
)
from students.models import RosterGap, Student

DUE_DAYS = 7


def not_returned(ctx: Context, partition: Partition | None = None):
    """Students who should have reported back by `ctx.as_of` and have not (annotated `st`)."""
    term = term_of(ctx.as_of)
    qs = Student.objects.all()
    if partition is not None:
        qs = qs.filter(partition.schools("school"))
    return (
        status_was(qs, ctx.as_of, Student.Status.ENROLLED)
        .filter(~Exists(ReturnReport.objects.filter(student_id=OuterRef("pk"), term=term.code)))
        .filter(~absence_covering(ctx.as_of))
    )


def build(ctx: Context, partition: Partition) -> list[Rows]:
    term = term_of(ctx.as_of)
    if ctx.as_of < term_opens(term):
        return []  # the term has not opened: nobody is due back yet
    qs = not_returned(ctx, partition)
    # The filter above guarantees the status on the as-of date.
    detail = JSONObject(term=text(term.code), last_status=text(Student.Status.ENROLLED))
    return [student_rows(qs, ctx, level=Level.SCHOOL, detail=detail, due_days=DUE_DAYS)]


def roster_missing(ctx: Context, partition: Partition | None = None):
    """The term's unexplained roster gaps on the as-of date (annotated `st`)."""
    term = term_of(ctx.as_of)
    if ctx.as_of < term.start:
        return Student.objects.none()
    gaps = RosterGap.objects.filter(term=term.code, student_id=OuterRef("pk"),
                                    school_id=OuterRef("school_id"))
    qs = Student.objects.filter(Exists(gaps))
    if partition is not None:
        qs = qs.filter(partition.schools("school"))
    return (status_was(qs, ctx.as_of, Student.Status.ENROLLED)
            .filter(~absence_covering(ctx.as_of)))


def build_roster(ctx: Context, partition: Partition) -> list[Rows]:
    term = term_of(ctx.as_of)
    detail = JSONObject(term=text(term.code), reason=text("roster_missing"))
    return [student_rows(roster_missing(ctx, partition), ctx, level=Level.SCHOOL, detail=detail,
                         due_days=DUE_DAYS)]


SWEEP = Sweep(
    name="return_check",
    label=_("返校核查"),
    window=_("2–3月、9月，每日"),
    period=lambda as_of: term_of(as_of).code,
    findings=(Finding(Alert.Rule.RETURN_CHECK, build), Finding(Alert.Rule.ROSTER_MISSING, build_roster)),
)
