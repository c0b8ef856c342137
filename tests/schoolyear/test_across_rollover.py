"""The sweeps across a rollover: graduates are never alerted by 返校核查 again, and a primary
graduate found in no grade 7 is a 两一 gap at the expected junior school (对口初中)."""

from __future__ import annotations

import datetime as dt

import pytest

from kongchuo.calendar.models import SchoolYear
from ledgers.models import OutOfCountyRecord
from retrieval.models import Alert
from students.models import StatusChange, Student
from students.rollover import rollover_apply
from students.services import student_change_status
from tests.retrieval.sweepkit import alerts, run
from tests.schoolyear.conftest import JULY, YEAR

pytestmark = pytest.mark.django_db
S = Student.Status
SEPT = dt.date(2026, 9, 10)
LEFT = ("p6", "p6_home", "point6", "nine9", "j9")


def test_graduates_are_never_alerted_by_the_return_check_again(years):
    run("return_check", SEPT)
    before = alerts(Alert.Rule.RETURN_CHECK)
    assert years.j9.id_number in before  # without the rollover: every grade-9 leaver alerted
    Alert.objects.all().delete()
    rollover_apply(year=YEAR, user=None, today=JULY)
    for as_of in (SEPT, dt.date(2027, 3, 2)):
        run("return_check", as_of)
        found = alerts(Alert.Rule.RETURN_CHECK)
        for name in LEFT:
            assert getattr(years, name).id_number not in found, name
        assert years.p1.id_number in found and years.nine6.id_number in found  # moved up, still due


def test_a_primary_graduate_missing_from_grade7_is_alerted_at_the_junior_school(years):
    y = years
    rollover_apply(year=YEAR, user=None, today=JULY)
    run("census", dt.date(2026, 8, 20))  # still the holidays
    assert not alerts(Alert.Rule.ENTRY)
    run("census", SEPT)
    found = alerts(Alert.Rule.ENTRY)
    a = found[y.p6.id_number]
    assert (a.school_id, a.township_id, a.level, a.student_id, a.detail["kind"]) == (
        y.junior.pk, y.t.pk, "school", y.p6.pk, "grade7")
    assert a.detail["expected_school"] == "甲镇中学"
    assert a.period == "2026"
    # no 对口初中 for the teaching point: the township of the 户籍 acts
    b = found[y.point6.id_number]
    assert (b.school_id, b.township_id, b.level) == (None, y.t.pk, "township")
    assert y.p6_home.id_number in found
    # grade-9 graduates and children moved up in place are no gap
    for kid in (y.j9, y.nine9, y.nine6, y.complete6, y.special6):
        assert kid.id_number not in found


def test_enrolment_in_grade7_or_proven_out_of_county_clears_the_gap(years):
    y = years
    rollover_apply(year=YEAR, user=None, today=JULY)
    run("census", SEPT)
    assert {y.p6.id_number, y.p6_home.id_number} <= set(alerts(Alert.Rule.ENTRY))
    # the junior school enrols one (a roster move: 转入 at the junior school, grade 7) …
    student_change_status(student=y.p6, kind=StatusChange.Kind.TRANSFER_OUT,
                          effective_date=dt.date(2026, 9, 1), to_school=y.junior, user=None)
    Student.objects.filter(pk=y.p6.pk).update(grade=7)
    # … the other is 外县就读: without its 在读证明 still a gap, with it accounted for
    student_change_status(student=y.p6_home, kind=StatusChange.Kind.OUT_OF_COUNTY,
                          effective_date=dt.date(2026, 9, 2), to_county="六安市裕安区", user=None)
    run("census", dt.date(2026, 9, 12))
    found = alerts(Alert.Rule.ENTRY, status="open")
    assert y.p6.id_number not in found
    assert y.p6_home.id_number in found
    OutOfCountyRecord.objects.create(student=y.p6_home, county="六安市裕安区", school_name="裕安区第一中学",
                                     grade=7, start_date=dt.date(2026, 9, 2), proof="在读证明（盖章）")
    run("census", dt.date(2026, 9, 14))
    assert y.p6_home.id_number not in alerts(Alert.Rule.ENTRY, status="open")
    assert Alert.objects.get(rule=Alert.Rule.ENTRY, subject=y.p6.id_number).status == "resolved"


def test_the_gap_waits_for_the_autumn_opening_day_the_county_set(years):
    rollover_apply(year=YEAR, user=None, today=JULY)
    SchoolYear.objects.update_or_create(year=2026, defaults={"autumn_opens": dt.date(2026, 9, 7)})
    run("census", dt.date(2026, 9, 6))
    assert years.p6.id_number not in alerts(Alert.Rule.ENTRY)
    run("census", dt.date(2026, 9, 7))
    assert years.p6.id_number in alerts(Alert.Rule.ENTRY)


def test_the_return_check_waits_for_the_term_to_open(years):
    SchoolYear.objects.create(year=2025, spring_opens=dt.date(2026, 2, 24))
    run("return_check", dt.date(2026, 2, 20))
    assert not alerts(Alert.Rule.RETURN_CHECK)
    run("return_check", dt.date(2026, 2, 24))
    assert years.p1.id_number in alerts(Alert.Rule.RETURN_CHECK)
