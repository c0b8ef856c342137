"""校历调整: the county's exceptions to the Monday–Friday school week (CalendarDay rows), kept on a
county page instead of the admin. The absence sweep counts school days with them
(`kongchuo.calendar.schoolyear.SchoolDays`).

Only exceptions are stored: a weekday holiday (放假) or a make-up weekend day (调休上课). A range
(the National Day week) is entered at once; the days it covers that are already what was asked
(a Saturday inside a holiday) are left out, so the table holds exceptions only.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from kongchuo.access.audit import audit_record
from kongchuo.models import CalendarDay

MAX_RANGE_DAYS = 31


class CalendarError(ValueError):
    """Bad input for a calendar change; the message is bilingual (Chinese first)."""


def calendar_days_in(first: dt.date, last: dt.date, *, school_day: bool) -> list[dt.date]:
    """The days of first..last that would be exceptions: weekdays for a holiday, weekend days
    for make-up school days. CalendarError when the range is backwards, too long, or holds none."""
    if last < first:
        raise CalendarError("结束日期早于开始日期 / the end date is before the start date")
    if (last - first).days >= MAX_RANGE_DAYS:
        raise CalendarError(f"一次最多登记{MAX_RANGE_DAYS}天 / at most {MAX_RANGE_DAYS} days at a time")
    days = [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]
    picked = [d for d in days if (d.weekday() >= 5) == school_day]
    if not picked:
        if school_day:
            raise CalendarError("周一至周五本来就上课，调休上课只需登记周六、周日 / "
                                "Monday–Friday are school days already: a make-up day is a Saturday or Sunday")
        raise CalendarError("周六、周日本来就不上课，放假只需登记周一至周五 / "
                            "weekends are no school days already: a holiday is a weekday")
    return picked


@transaction.atomic
def calendar_days_set(*, first: dt.date, last: dt.date | None = None, school_day: bool, note: str,
                      user=None, request=None) -> list[CalendarDay]:
    """Record first..last (one day when `last` is None) as holidays or make-up school days, each
    day's row replaced if it exists (one row per date); audited with the days written."""
    days = calendar_days_in(first, last or first, school_day=school_day)
    note = note.strip()[:60]
    rows = [CalendarDay(date=d, school_day=school_day, note=note) for d in days]
    CalendarDay.objects.bulk_create(rows, update_conflicts=True, unique_fields=["date"],
                                    update_fields=["school_day", "note"])
    audit_record(action="calendar_day_set", user=user, request=request, object_type="kongchuo.calendarday",
                 object_id=days[0].isoformat(), detail={
                     "dates": [d.isoformat() for d in days], "school_day": school_day, "note": note})
    return list(CalendarDay.objects.filter(date__in=days))


@transaction.atomic
def calendar_day_delete(*, day: dt.date, user=None, request=None) -> bool:
    """Remove one exception (the day is an ordinary day again); audited. False if there was none."""
    row = CalendarDay.objects.select_for_update().filter(date=day).first()
    if row is None:
        return False
    audit_record(action="calendar_day_delete", user=user, request=request, obj=row, detail={
        "dates": [day.isoformat()], "school_day": row.school_day, "note": row.note})
    row.delete()
    return True
