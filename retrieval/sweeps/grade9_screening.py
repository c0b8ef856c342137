"""九年级排查 (May–Jun): possible 劝退 (pushing out) of grade-9 students before the exam.

Rule (issue 5, work plan §三(三)1 "5-6月份"): grade-9 students with a 转出, 休学 or 请假 dated
since 1 March (up to the as-of date) or with ≥ 3 school days of unexplained absence since
1 March; and schools whose grade-9 count fell by more than 2% since the autumn term began. Both
go to the county (level county) as possible violations to review; the school stays on the alert
so the county knows whose conduct is in question, and only the county sees these alerts (the
accused school and its township center school never do: `Alert.COUNTY_ONLY_RULES`, applied by
`visible_to`). Period = the year.

A school's grade-9 count on a date: grade-9 students whose school on that date was the school
(the current school, or the school a later 转出 moved them from) and whose status on that date
was 在读 or 送教上门.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import BigIntegerField, Count, Exists, F, IntegerField, OuterRef, Q, Subquery, Sum
from django.db.models.functions import Coalesce, JSONObject
from django.utils.translation import gettext_lazy as _

from kongchuo.calendar.schoolyear import Term, term_of
from ledgers.models import Absence
from retrieval.models import Alert, Level
from retrieval.sweeps.base import (
    Context,
    Finding,
    Partition,
    Rows,
    Sweep,
    status_was,
    student_rows,
    text,
)
from students.models import School, StatusChange, Student

DUE_DAYS = 15
ABSENCE_DAYS = 3
DROP_THRESHOLD = 0.02
LEFT_KINDS = (StatusChange.Kind.TRANSFER_OUT, StatusChange.Kind.SUSPEND, StatusChange.Kind.LEAVE)
PRESENT = (Student.Status.ENROLLED, Student.Status.HOME_TEACHING)


def since(ctx: Context) -> dt.date:
    return dt.date(ctx.as_of.year, 3, 1)


def autumn_start(ctx: Context) -> dt.date:
    term = term_of(ctx.as_of)
    autumn = term if term.season == "autumn" else term.previous()
    return Term(autumn.year, "autumn").start


def build_students(ctx: Context, partition: Partition) -> list[Rows]:
    start = since(ctx)
    changes = StatusChange.objects.filter(student_id=OuterRef("pk"), kind__in=LEFT_KINDS,
                                          effective_date__gte=start, effective_date__lte=ctx.as_of)
    absent = (Absence.objects.filter(student_id=OuterRef("pk"), explained=False,
                                     start_date__lte=ctx.as_of, end_date__gte=start)
              .order_by().values("student_id").annotate(d=Sum("school_days")).values("d"))
    qs = (Student.objects.filter(grade=9).filter(partition.schools("school"))
          .annotate(absent=Coalesce(Subquery(absent, output_field=IntegerField()), 0),
                    left=Subquery(changes.order_by("-effective_date", "-id").values("kind")[:1]))
          .filter(Q(Exists(changes)) | Q(absent__gte=ABSENCE_DAYS)))
    detail = JSONObject(kind=text("student"), change=F("left"), absent_days=F("absent"),
                        since=text(start.isoformat()))
    return [student_rows(qs, ctx, level=Level.COUNTY, detail=detail, due_days=DUE_DAYS)]


def school_on(day: dt.date):
    """The student's school on `day`: the school a 转出 after `day` moved them from, if any."""
    moved = (StatusChange.objects.filter(student_id=OuterRef("pk"),
                                         kind=StatusChange.Kind.TRANSFER_OUT,
                                         effective_date__gt=day, from_school__isnull=False)
             .order_by("effective_date", "id").values("from_school_id")[:1])
    return Coalesce(Subquery(moved), F("school_id"), output_field=BigIntegerField())


def grade9_counts(day: dt.date, school_ids) -> dict[int, int]:
    rows = (status_was(Student.objects.filter(grade=9), day, PRESENT)
            .annotate(sch=school_on(day)).filter(sch__in=school_ids)
            .order_by().values("sch").annotate(n=Count("pk")))
    return {r["sch"]: r["n"] for r in rows}


def build_schools(ctx: Context, partition: Partition) -> list[Rows]:
    schools = {s.pk: s for s in School.objects.filter(pk__in=partition.school_ids)}
    ids = list(schools)
    before = grade9_counts(autumn_start(ctx), ids)
    now = grade9_counts(ctx.as_of, ids)
    rows = []
    for pk, n_before in sorted(before.items()):
        n_now = now.get(pk, 0)
        if n_before and (n_before - n_now) / n_before > DROP_THRESHOLD:
            school = schools[pk]
            rows.append({
                "period": ctx.period, "subject": f"school:{school.code}", "student_id": None,
                "name": school.name[:40], "school_id": pk, "township_id": school.township_id,
                "level": Level.COUNTY, "due_date": ctx.as_of + dt.timedelta(days=DUE_DAYS),
                "detail": {"kind": "school", "autumn": n_before, "now": n_now,
                           "drop_pct": round(100 * (n_before - n_now) / n_before, 1),
                           "since": autumn_start(ctx).isoformat()},
            })
    return [Rows(rows=rows)]


def build(ctx: Context, partition: Partition) -> list[Rows]:
    """Both sources share one rule: one candidate set, so neither resolves the other's alerts."""
    return [*build_students(ctx, partition), *build_schools(ctx, partition)]


SWEEP = Sweep(
    name="grade9_screening",
    label=_("九年级排查"),
    window=_("5–6月，每周"),
    period=lambda as_of: str(as_of.year),
    findings=(Finding(Alert.Rule.GRADE9, build),),
)
