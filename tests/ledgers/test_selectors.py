"""The at-a-glance rules: not reported, poor without aid, at-risk absences, monthly visits,
expiring deferrals — and the demo seeder that fills every ledger."""

from __future__ import annotations

import datetime as dt
import random

import pytest
import time_machine

from kongchuo.calendar.schoolyear import Term, today
from ledgers.demo import seed_ledgers
from ledgers.models import (
    Absence,
    AidRecord,
    Deferral,
    HomeTeachingPlan,
    HomeTeachingVisit,
    ReturnReport,
)
from ledgers.selectors import (
    deferral_expiry,
    expiring_deferrals,
    not_reported,
    poor_without_aid,
    with_month_visits,
    with_risk,
)
from students.models import StatusChange, Student
from tests.factories import StudentFactory

pytestmark = pytest.mark.django_db

TERM = Term(2024, "spring")


def test_not_reported_skips_reported_on_leave_and_not_enrolled(county):
    reported, on_leave, leave_over, suspended, missing = StudentFactory.create_batch(
        5, school=county.a_primary)
    ReturnReport.objects.create(student=reported, term=TERM.code, reported_on=dt.date(2024, 2, 26))
    ReturnReport.objects.create(student=missing, term="2023-autumn", reported_on=dt.date(2023, 9, 1))
    StatusChange.objects.create(student=on_leave, kind="leave", effective_date=dt.date(2024, 2, 20))
    StatusChange.objects.create(student=leave_over, kind="leave", effective_date=dt.date(2024, 2, 20),
                                end_date=dt.date(2024, 3, 10))  # back from leave, still not reported
    Student.objects.filter(pk=suspended.pk).update(status=Student.Status.SUSPENDED)
    with time_machine.travel(dt.datetime(2024, 3, 1, 10, tzinfo=dt.UTC)):
        during_leave = set(not_reported(Student.objects.filter(school=county.a_primary), TERM))
    assert during_leave == {missing, county.s_a}
    later = set(not_reported(Student.objects.filter(school=county.a_primary), TERM))
    assert later == {missing, county.s_a, leave_over}


def test_poor_without_aid(county):
    poor_aided = StudentFactory(school=county.a_primary, is_poor=True)
    poor_other_term = StudentFactory(school=county.a_primary, is_tekun=True)
    poor_left = StudentFactory(school=county.a_primary, is_monitored=True,
                               status=Student.Status.TRANSFERRED)
    AidRecord.objects.create(student=poor_aided, term=TERM.code, kind="living", granted_on=TERM.start)
    AidRecord.objects.create(student=poor_other_term, term="2023-autumn", kind="living",
                             granted_on=dt.date(2023, 10, 1))
    result = set(poor_without_aid(Student.objects.all(), TERM))
    assert result == {poor_other_term}
    assert poor_left not in result


@pytest.mark.parametrize("days,explained,leave,at_risk", [
    (3, False, False, True),
    (5, False, False, True),
    (2, False, False, False),
    (3, True, False, False),
    (3, False, True, False),
])
def test_three_unexplained_school_days_make_a_risk(county, days, explained, leave, at_risk):
    start = dt.date(2024, 3, 4)
    Absence.objects.create(student=county.s_a, start_date=start, end_date=start + dt.timedelta(days=days - 1),
                           school_days=days, explained=explained)
    if leave:
        StatusChange.objects.create(student=county.s_a, kind="leave", effective_date=start,
                                    end_date=start + dt.timedelta(days=7))
    assert with_risk(Absence.objects.all()).get().at_risk is at_risk


def test_month_visits_against_the_minimum(county):
    plan = HomeTeachingPlan.objects.create(student=county.s_a, disability_category="智力残疾",
                                           teachers="王", start_date=dt.date(2024, 1, 1))
    other = HomeTeachingPlan.objects.create(student=county.s_b, disability_category="智力残疾",
                                            teachers="李", start_date=dt.date(2024, 1, 1))
    for day in (dt.date(2024, 3, 5), dt.date(2024, 3, 19), dt.date(2024, 2, 27)):
        HomeTeachingVisit.objects.create(plan=plan, visit_date=day, teachers="王", content="culture")
    HomeTeachingVisit.objects.create(plan=other, visit_date=dt.date(2024, 3, 5), teachers="李", content="rehab")
    march = {p.pk: (p.month_visits, p.below_minimum)
             for p in with_month_visits(HomeTeachingPlan.objects.all(), dt.date(2024, 3, 1))}
    assert march == {plan.pk: (2, False), other.pk: (1, True)}


def test_deferral_expiry_window(county):
    day = today()
    d = Deferral(review="approved", end_date=day + dt.timedelta(days=10))
    assert deferral_expiry(d, day) == "expiring"
    d.end_date = day + dt.timedelta(days=11)
    assert deferral_expiry(d, day) == ""
    d.end_date = day - dt.timedelta(days=1)
    assert deferral_expiry(d, day) == "expired"
    d.review = "pending"
    assert deferral_expiry(d, day) == ""
    Deferral.objects.create(school=county.a_primary, id_number="341522201803070016", name="甲",
                            birth_date=dt.date(2018, 3, 7), guardian_name="乙", reason="病",
                            certificate="证明", start_date=day - dt.timedelta(days=300),
                            end_date=day + dt.timedelta(days=5), review="approved")
    assert expiring_deferrals(Deferral.objects.all(), day).count() == 1


def test_seeder_fills_every_ledger_consistently(county):
    Student.objects.filter(pk=county.s_b.pk).update(status=Student.Status.HOME_TEACHING,
                                                    disability_category="肢体残疾")
    Student.objects.filter(pk=county.s_a.pk).update(is_poor=True)
    StudentFactory.create_batch(12, school=county.a_center, grade=9)
    StudentFactory.create_batch(12, school=county.a_primary)
    poor = StudentFactory.create_batch(20, school=county.b_center, is_dibao=True)
    seed_ledgers(random.Random(7))
    plan = HomeTeachingPlan.objects.get()
    assert plan.student_id == county.s_b.pk and plan.visits.exists()
    aided = set(AidRecord.objects.values_list("student_id", flat=True))
    assert aided <= {county.s_a.pk, *(p.pk for p in poor)}
    assert 12 <= len(aided) <= 21  # about nine in ten poor children get aid
    assert ReturnReport.objects.exists() and Deferral.objects.filter(review="pending").exists()
    assert Deferral.objects.filter(review="approved").exists()
    assert Absence.objects.filter(explained=False, school_days=3).exists()
    assert HomeTeachingVisit.history.count() == HomeTeachingVisit.objects.count()
    assert not HomeTeachingVisit.objects.filter(visit_date__gt=today()).exists()
    assert not ReturnReport.objects.filter(reported_on__gt=today()).exists()
    vocational = Student.objects.filter(status=Student.Status.VOCATIONAL)
    assert vocational.count() == StatusChange.objects.filter(kind="vocational").count() == 2
