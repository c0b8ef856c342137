"""到期提醒 (daily): 延缓入学 and 休学 ending within 10 days, or ended without 复学.

Rule (issue 5): (a) approved Deferral rows whose end date is on or before as-of + 10 days, of a
child who is not a student of the county in school (在读, 休学, 外县就读, 送教上门, 中职就读),
and not superseded by a later approved deferral of the same child; routed to the school the
child would enter. (b) 休学 StatusChange rows with an end date on or before as-of + 10 days,
effective on or before as-of, that are still the student's latest status change (no 复学 or any
other change recorded after them); routed to the student's school. One alert per child and end
date: period = the end date (ISO); detail says which (`deferral` / `suspension`) and whether it
is `ending` or already `ended`. The run's own period is the as-of date.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import BigIntegerField, Case, CharField, Exists, F, OuterRef, Q, When
from django.db.models.functions import Cast, JSONObject
from django.utils.translation import gettext_lazy as _

from ledgers.models import Deferral
from retrieval.models import Alert, Level
from retrieval.sweeps.base import (
    NON_STATUS_KINDS,
    Context,
    Finding,
    Partition,
    Rows,
    Sweep,
    annotate_alert,
    due,
    student_rows,
    text,
)
from students.models import StatusChange, Student

WITHIN_DAYS = 10
DUE_DAYS = 10


def _state(ctx: Context):
    return Case(When(end_date__lt=ctx.as_of, then=text("ended")), default=text("ending"),
                output_field=CharField())


def deferrals(ctx: Context, partition: Partition) -> Rows:
    horizon = ctx.as_of + dt.timedelta(days=WITHIN_DAYS)
    in_school = Student.objects.filter(id_number=OuterRef("id_number"), status__in=Student.IN_SCHOOL)
    later = Deferral.objects.filter(id_number=OuterRef("id_number"), review=Deferral.Review.APPROVED,
                                    end_date__gt=OuterRef("end_date"))
    qs = (Deferral.objects.filter(review=Deferral.Review.APPROVED, end_date__lte=horizon)
          .filter(partition.schools("school"))
          .filter(~Exists(in_school)).filter(~Exists(later)))
    return Rows(query=annotate_alert(
        qs,
        period=Cast("end_date", CharField()),
        subject=F("id_number"),
        student_id=Cast("student_id", BigIntegerField()),
        name=F("name"),
        school_id=F("school_id"),
        township_id=F("school__township_id"),
        level=text(Level.SCHOOL),
        detail=JSONObject(kind=text("deferral"), deferral=F("pk"),
                          end_date=Cast("end_date", CharField()), state=_state(ctx)),
        due_date=due(ctx, DUE_DAYS),
    ))


def suspensions(ctx: Context, partition: Partition) -> Rows:
    horizon = ctx.as_of + dt.timedelta(days=WITHIN_DAYS)
    later = (StatusChange.objects.filter(student_id=OuterRef("student_id"))
             .exclude(kind__in=NON_STATUS_KINDS)
             .filter(Q(effective_date__gt=OuterRef("effective_date"))
                     | Q(effective_date=OuterRef("effective_date"), pk__gt=OuterRef("pk"))))
    qs = (StatusChange.objects.filter(kind=StatusChange.Kind.SUSPEND, end_date__isnull=False,
                                      end_date__lte=horizon, effective_date__lte=ctx.as_of)
          .filter(partition.schools("student__school"))
          .filter(~Exists(later)))
    detail = JSONObject(kind=text("suspension"), change=F("pk"),
                        end_date=Cast("end_date", CharField()), state=_state(ctx))
    return student_rows(qs, ctx, level=Level.SCHOOL, detail=detail, due_days=DUE_DAYS,
                        period=Cast("end_date", CharField()), prefix="student__")


def build(ctx: Context, partition: Partition) -> list[Rows]:
    return [deferrals(ctx, partition), suspensions(ctx, partition)]


SWEEP = Sweep(
    name="expiries",
    label=_("延缓入学/休学到期"),
    window=_("每日"),
    period=lambda as_of: as_of.isoformat(),
    findings=(Finding(Alert.Rule.EXPIRY, build, existing=lambda ctx: Q()),),
)
