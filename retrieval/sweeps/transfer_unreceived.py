"""转出未接收 (daily): a child recorded 转出 to a school of the county and not received there.

Rule (issue 16): a transfer the sending school recorded (students.TransferRequest, direction
"out", still pending) whose child is still on the sending school's roll after the 10th school
day following the 转出 date (`requested_on`; school days counted with the county's calendar,
kongchuo.calendar.schoolyear.SchoolCalendar, as the 连续缺课 sweep counts them) is a suspected dropout:
the child left one school and reached no other. Routed to the township of the receiving school
(school empty, level township); a county-direct receiving school's go to the county. Period =
``tr<transfer id>`` (one alert per transfer); the receiving side confirming (接收), refusing, or
the sending side withdrawing resolves it at the next run.

A request the receiving school made (转入申请) is not alerted: the child is at the school that
asked; the sending side's confirmation is a paper step (its list shows it as waiting). Nor is a
child with a 返校报到 dated on or after the 转出 date: the child reported at a school (our
reading; the shared samples expect it), the confirmation is then a paper step too.

The partition's pending transfers are read in one query (a handful: transfers are entered by
hand) and counted against the calendar in Python.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import Exists, F, OuterRef, Q
from django.utils.translation import gettext_lazy as _

from kongchuo.access.scoping import OVERSIGHT_TOWNSHIP
from kongchuo.calendar.schoolyear import SchoolCalendar
from ledgers.models import ReturnReport
from retrieval.models import Alert, Level
from retrieval.sweeps.base import Context, Finding, Partition, Rows, Sweep
from students.models import TransferRequest

SCHOOL_DAYS = 10
DUE_DAYS = 5
PERIOD_PREFIX = "tr"

COLUMNS = ("pk", "requested_on", "student_id", "student__id_number", "student__name",
           "from_school_id", "from_school__name", "to_school_id", "to_school__name",
           "to_school__township_id", "to_school__oversight")


def period_of(transfer_id: int) -> str:
    return f"{PERIOD_PREFIX}{transfer_id}"


def unreceived(as_of: dt.date, partition: Partition | None = None) -> list[tuple]:
    """(transfer row, deadline) of the 转出 not received by `as_of`: past their 10th school day."""
    reported = ReturnReport.objects.filter(student_id=OuterRef("student_id"),
                                           reported_on__gte=OuterRef("requested_on"))
    qs = (TransferRequest.objects
          .filter(state=TransferRequest.State.PENDING, direction=TransferRequest.Direction.OUT,
                  requested_on__lt=as_of, student__school_id=F("from_school_id"))
          .filter(~Exists(reported)))
    if partition is not None:
        qs = qs.filter(partition.schools("to_school"))
    rows = list(qs.order_by("requested_on", "pk").values_list(*COLUMNS))
    if not rows:
        return []
    calendar = SchoolCalendar.load(rows[0][1], as_of + dt.timedelta(days=60))
    out = []
    for row in rows:
        deadline = calendar.school_days_after(row[1], SCHOOL_DAYS)
        if as_of > deadline:
            out.append((row, deadline))
    return out


def build(ctx: Context, partition: Partition) -> list[Rows]:
    out = []
    for row, deadline in unreceived(ctx.as_of, partition):
        (pk, requested_on, student_id, id_number, name, from_id, from_name, to_id, to_name,
         to_township, to_oversight) = row
        township = to_township if to_oversight == OVERSIGHT_TOWNSHIP else None
        out.append({
            "period": period_of(pk), "subject": id_number, "student_id": student_id, "name": name,
            "school_id": None, "township_id": township,
            "level": Level.TOWNSHIP if township else Level.COUNTY,
            "detail": {"transfer": pk, "from_school": from_name, "from_school_id": from_id,
                       "to_school": to_name, "to_school_id": to_id,
                       "requested_on": requested_on.isoformat(), "deadline": deadline.isoformat(),
                       "school_days": SCHOOL_DAYS},
            "due_date": ctx.as_of + dt.timedelta(days=DUE_DAYS),
        })
    return [Rows(rows=out)]


SWEEP = Sweep(
    name="transfer_unreceived",
    label=_("转出未接收核查"),
    window=_("每日"),
    period=lambda as_of: as_of.isoformat(),
    findings=(Finding(Alert.Rule.TRANSFER_UNRECEIVED, build,
                      existing=lambda ctx: Q(period__startswith=PERIOD_PREFIX)),),
)
