"""Writes of the school calendar: the opening days of a school year's terms (SchoolYear rows) and
校历调整, the county's exceptions to the Monday–Friday school week (CalendarDay rows), kept on a
county page instead of the admin. The absence sweep counts school days with them
(`kongchuo.calendar.schoolyear.SchoolCalendar`).

Only exceptions are stored: a weekday holiday (放假) or a make-up weekend day (调休上课). A range
(the National Day week) is entered at once; the days it covers that are already what was asked
(a Saturday inside a holiday) are left out, so the table holds exceptions only.
"""

from __future__ import annotations

import datetime as dt

from django.contrib.auth.base_user import AbstractBaseUser as User
from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext as _

from kongchuo.access.audit import audit_record
from kongchuo.calendar.models import CalendarDay, SchoolYear
from kongchuo.calendar.schoolyear import opening_window, year_terms

MAX_RANGE_DAYS = 31


class CalendarError(ValueError):
    """Bad input for a calendar change; the message is in the user's language."""


def calendar_days_in(first: dt.date, last: dt.date, *, school_day: bool) -> list[dt.date]:
    """The days of first..last that would be exceptions: weekdays for a holiday, weekend days
    for make-up school days. CalendarError when the range is backwards, too long, or holds none."""
    if last < first:
        raise CalendarError(_("结束日期早于开始日期"))
    if (last - first).days >= MAX_RANGE_DAYS:
        raise CalendarError(_("一次最多登记%(n)s天") % {"n": MAX_RANGE_DAYS})
    days = [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]
    picked = [d for d in days if (d.weekday() >= 5) == school_day]
    if not picked:
        if school_day:
            raise CalendarError(_("周一至周五本来就上课，调休上课只需登记周六、周日"))
        raise CalendarError(_("周六、周日本来就不上课，放假只需登记周一至周五"))
    return picked


@transaction.atomic
def calendar_days_set(*, first: dt.date, last: dt.date | None = None, school_day: bool, note: str,
                      user: User | None = None, request: HttpRequest | None = None) -> list[CalendarDay]:
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
def calendar_day_delete(*, day: dt.date, user: User | None = None,
                        request: HttpRequest | None = None) -> bool:
    """Remove one exception (the day is an ordinary day again); audited. False if there was none."""
    row = CalendarDay.objects.select_for_update().filter(date=day).first()
    if row is None:
        return False
    audit_record(action="calendar_day_delete", user=user, request=request, obj=row, detail={
        "dates": [day.isoformat()], "school_day": row.school_day, "note": row.note})
    row.delete()
    return True


def school_year_terms_set(*, year: int, autumn_opens: dt.date | None, spring_opens: dt.date | None,
                          user: User | None = None, request: HttpRequest | None = None) -> SchoolYear:
    """Set (or clear: the default applies) the opening days of school year `year`'s terms,
    audited. ValueError (in the user's language) for a day outside the term's window."""
    for term, day in zip(year_terms(year), (autumn_opens, spring_opens), strict=True):
        lo, hi = opening_window(term)
        if day is not None and not lo <= day <= hi:
            raise ValueError(_("%(term)s开学日期应在%(first)s至%(last)s之间")
                             % {"term": term.full_label, "first": lo.isoformat(), "last": hi.isoformat()})
    with transaction.atomic():
        record, _created = SchoolYear.objects.select_for_update().get_or_create(year=year)
        before = {"autumn_opens": str(record.autumn_opens or ""), "spring_opens": str(record.spring_opens or "")}
        record.autumn_opens, record.spring_opens = autumn_opens, spring_opens
        record.save(update_fields=["autumn_opens", "spring_opens", "updated_at"])
        audit_record(action="school_year_terms", user=user, request=request, obj=record,
                     detail={"before": before, "after": {"autumn_opens": str(autumn_opens or ""),
                                                         "spring_opens": str(spring_opens or "")}})
    return record
