"""送教上门 (monthly): children taught at home with fewer than 2 visits in the past month.

Rule (issue 5, work plan §三(三)3 "每月送教上门不少于2次"): students whose status on the last
day of the past calendar month was 送教上门 and who have fewer than 2 HomeTeachingVisit rows
dated in that month. Period = that month, ``YYYY-MM``. Routed to the student's school (for the
special-education school's children, that school).
"""

from __future__ import annotations

import datetime as dt

from django.db.models import Count, F, IntegerField, OuterRef, Subquery
from django.db.models.functions import Coalesce, JSONObject
from django.utils.translation import gettext_lazy as _

from ledgers.models import HomeTeachingVisit
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
from students.models import Student

DUE_DAYS = 10
MIN_VISITS = 2


def past_month(as_of: dt.date) -> tuple[dt.date, dt.date]:
    last = as_of.replace(day=1) - dt.timedelta(days=1)
    return last.replace(day=1), last


def period_of(as_of: dt.date) -> str:
    return f"{past_month(as_of)[0]:%Y-%m}"


def build(ctx: Context, partition: Partition) -> list[Rows]:
    first, last = past_month(ctx.as_of)
    visits = (HomeTeachingVisit.objects.filter(plan__student_id=OuterRef("pk"),
                                               visit_date__range=(first, last))
              .order_by().values("plan__student_id").annotate(n=Count("pk")).values("n"))
    qs = (Student.objects.filter(partition.schools("school"))
          .annotate(visits=Coalesce(Subquery(visits, output_field=IntegerField()), 0))
          .filter(visits__lt=MIN_VISITS))
    qs = status_was(qs, last, Student.Status.HOME_TEACHING)
    detail = JSONObject(month=text(period_of(ctx.as_of)), visits=F("visits"))
    return [student_rows(qs, ctx, level=Level.SCHOOL, detail=detail, due_days=DUE_DAYS)]


SWEEP = Sweep(
    name="home_teaching",
    label=_("送教上门次数核查"),
    window=_("每月3日（查上月）"),
    period=period_of,
    findings=(Finding(Alert.Rule.HOME_TEACHING, build),),
)
