"""连续缺课: absences registered as several rows are joined across weekends and holidays."""

from __future__ import annotations

import datetime as dt

import pytest

from kongchuo.calendar.models import CalendarDay
from kongchuo.calendar.schoolyear import SchoolCalendar
from ledgers.models import Absence
from retrieval.models import Alert
from tests.retrieval.sweepkit import alerts, run, student

pytestmark = pytest.mark.django_db
D = dt.date
AS_OF = D(2026, 3, 20)  # 2026-03-09 is a Monday


def _absent(st, start, end, days, explained=False):
    return Absence.objects.create(student=st, start_date=start, end_date=end, school_days=days,
                                  explained=explained)


def test_adjacent_rows_add_up_to_one_alert(county):
    st = student(county.a_primary)
    mon = _absent(st, D(2026, 3, 9), D(2026, 3, 10), 2)
    wed = _absent(st, D(2026, 3, 11), D(2026, 3, 11), 1)
    run("absence", AS_OF)
    a = alerts(Alert.Rule.ABSENCE)[st.id_number]
    assert (a.period, a.detail["school_days"], a.detail["absences"], a.detail["end"]) == (
        "2026-03-09", 3, [mon.pk, wed.pk], "2026-03-11")


def test_a_weekend_does_not_break_a_run(county):
    st = student(county.a_primary)
    _absent(st, D(2026, 3, 12), D(2026, 3, 13), 2)  # Thu–Fri
    _absent(st, D(2026, 3, 16), D(2026, 3, 16), 1)  # Mon
    run("absence", AS_OF)
    assert alerts(Alert.Rule.ABSENCE)[st.id_number].detail["school_days"] == 3


def test_a_school_day_in_between_breaks_the_run(county):
    st = student(county.a_primary)
    _absent(st, D(2026, 3, 9), D(2026, 3, 10), 2)  # Mon–Tue, back on Wednesday
    _absent(st, D(2026, 3, 12), D(2026, 3, 12), 1)  # Thu
    run("absence", AS_OF)
    assert alerts(Alert.Rule.ABSENCE) == {}


def test_county_holiday_joins_and_make_up_saturday_separates(county):
    st, other = student(county.a_primary), student(county.b_primary)
    CalendarDay.objects.create(date=D(2026, 3, 11), school_day=False, note="放假")
    _absent(st, D(2026, 3, 9), D(2026, 3, 10), 2)
    _absent(st, D(2026, 3, 12), D(2026, 3, 12), 1)  # the Wednesday between was a holiday
    CalendarDay.objects.create(date=D(2026, 3, 14), school_day=True, note="调休上课")
    _absent(other, D(2026, 3, 12), D(2026, 3, 13), 2)
    _absent(other, D(2026, 3, 16), D(2026, 3, 16), 1)  # but the Saturday between was a school day
    run("absence", AS_OF)
    assert set(alerts(Alert.Rule.ABSENCE)) == {st.id_number}


def test_an_explained_row_breaks_the_run_and_explaining_resolves(county):
    st = student(county.a_primary)
    first = _absent(st, D(2026, 3, 9), D(2026, 3, 10), 2)
    _absent(st, D(2026, 3, 11), D(2026, 3, 11), 1, explained=True)  # 病假, explained
    _absent(st, D(2026, 3, 12), D(2026, 3, 12), 1)
    run("absence", AS_OF)
    assert alerts(Alert.Rule.ABSENCE) == {}

    Absence.objects.filter(explained=True).update(explained=False)  # found out it was not
    run("absence", AS_OF)
    assert alerts(Alert.Rule.ABSENCE)[st.id_number].detail["school_days"] == 4
    first.explained = True
    first.save()
    r = run("absence", AS_OF)  # 2 unexplained days left: resolved
    assert r.resolved == 1
    assert Alert.objects.get(rule="absence").status == "resolved"


def test_rows_of_several_children_are_never_joined(county):
    a, b = student(county.a_primary), student(county.a_primary)
    _absent(a, D(2026, 3, 9), D(2026, 3, 10), 2)
    _absent(b, D(2026, 3, 11), D(2026, 3, 11), 1)
    run("absence", AS_OF)
    assert alerts(Alert.Rule.ABSENCE) == {}


def test_school_calendar():
    cal = SchoolCalendar({D(2026, 10, 1): False, D(2026, 10, 2): False, D(2026, 9, 27): True})
    assert cal.next_school_day(D(2026, 9, 30)) == D(2026, 10, 5)  # Thu/Fri off, then the weekend
    assert cal.next_school_day(D(2026, 9, 25)) == D(2026, 9, 27)  # a make-up Sunday
    assert cal.is_school_day(D(2026, 9, 28)) and not cal.is_school_day(D(2026, 9, 26))


def test_the_absence_form_counts_school_days_with_the_county_calendar():
    from ledgers.forms import school_days_between

    mon, sun = D(2026, 3, 9), D(2026, 3, 15)
    assert school_days_between(mon, sun) == 5
    CalendarDay.objects.create(date=D(2026, 3, 11), school_day=False, note="放假")
    CalendarDay.objects.create(date=D(2026, 3, 14), school_day=True, note="调休上课")
    assert school_days_between(mon, sun) == 5 - 1 + 1
    assert school_days_between(D(2026, 3, 11), D(2026, 3, 11)) == 0


def test_an_absence_covered_by_a_leave_is_excused_as_in_the_ledger(county):
    from tests.retrieval.sweepkit import change

    st = student(county.a_primary)
    _absent(st, D(2026, 3, 9), D(2026, 3, 11), 3)
    change(st, "leave", D(2026, 3, 9), end=D(2026, 3, 11))  # 请假 for exactly those days
    run("absence", AS_OF)
    assert alerts(Alert.Rule.ABSENCE) == {}
    from ledgers.selectors import with_risk

    assert not with_risk(Absence.objects.filter(student=st)).get().at_risk  # one rule for both
