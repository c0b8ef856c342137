"""A hand-built county for the dashboards: every figure below is counted by hand in HAND.

Frozen at 2026-11-15 10:00 (Asia/Shanghai): school year 2026, autumn term, last month 2026-10,
cohort 2018 (grade 1 in autumn 2018, graduating from grade 9 in school year 2026).
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.cache import cache

from dashboards.models import CohortIntake
from ledgers.models import AidRecord, Deferral, HomeTeachingPlan, HomeTeachingVisit, ReturnReport
from retrieval.models import (
    Alert,
    Escalation,
    FeedbackBatch,
    FeedbackItem,
    PersuasionAttempt,
    RetrievalCase,
    SweepRun,
)
from students.models import StatusChange
from tests.factories import CensusEntryFactory, StudentFactory

SH = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 11, 15, 10, 0, tzinfo=SH)
TODAY = NOW.date()


def at(y, m, d, h=9) -> dt.datetime:
    return dt.datetime(y, m, d, h, 0, tzinfo=SH)


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture(autouse=True)
def _clean_cache():
    cache.clear()
    yield
    cache.clear()


def _change(student, kind, day, **kw):
    kw.setdefault("from_school", None if kind == "transfer_in" else student.school)
    return StatusChange.objects.create(student=student, kind=kind, effective_date=day,
                                       source="seed", **kw)


def _alert(n, rule, status, *, school=None, township=None, raised=None, closed=None, level="school"):
    alert = Alert.objects.create(rule=rule, period="2026-autumn", subject=f"S{n}", name=f"预警{n}",
                                 school=school, township=township, status=status, level=level)
    Alert.objects.filter(pk=alert.pk).update(raised_at=raised or NOW, closed_at=closed)
    return alert


def _case(n, status, *, school, opened, closed=None, closure="", user):
    case = RetrievalCase.objects.create(id_number=f"34152220100101{n:04d}", name=f"案件{n}",
                                        school=school, township=school.township, status=status,
                                        closure_category=closure, opened_by=user)
    RetrievalCase.objects.filter(pk=case.pk).update(opened_at=opened, closed_at=closed)
    return case


@pytest.fixture
def hand(county):
    """The `county` fixture plus every kind of row a figure counts (see HAND in the tests)."""
    c = county
    S = "enrolled"
    # -- students (a_primary: 甲镇东岗小学, a_center: 甲镇中心学校, b_*: 乙镇, direct: 县二中)
    c.s_a.is_poor = True
    c.s_a.save()
    c.s_a2.is_dibao = True
    c.s_a2.save()
    c.s_ht = StudentFactory(school=c.a_primary, hukou_township=c.ta, status="home_teaching", grade=3)
    c.s_ht2 = StudentFactory(school=c.a_primary, hukou_township=c.ta, status="home_teaching", grade=3)
    c.g9a = StudentFactory(school=c.a_center, hukou_township=c.ta, grade=9, status=S)
    c.g9b = StudentFactory(school=c.a_center, hukou_township=c.ta, grade=9, status=S)
    c.g9c = StudentFactory(school=c.a_center, hukou_township=c.ta, grade=9, status="dropped_out")
    c.g9d = StudentFactory(school=c.a_center, hukou_township=c.ta, grade=6, status="deceased")
    c.gd = StudentFactory(school=c.direct, hukou_township=c.tb, grade=9, status=S)
    c.old_grad = StudentFactory(school=c.a_center, hukou_township=c.ta, grade=9, status="graduated")
    c.so1 = StudentFactory(school=c.a_primary, hukou_township=c.ta, grade=8, status="out_of_county")
    c.sv = StudentFactory(school=c.b_center, hukou_township=c.tb, grade=9, status="vocational")
    c.s_susp = StudentFactory(school=c.b_primary, hukou_township=c.tb, status="suspended")
    _change(c.g9a, "transfer_in", dt.date(2025, 9, 1))
    _change(c.g9c, "dropout", dt.date(2026, 10, 10))
    _change(c.g9d, "death", dt.date(2024, 3, 1))
    _change(c.old_grad, "graduate", dt.date(2026, 6, 30))
    _change(c.so1, "out_of_county", dt.date(2025, 10, 1))
    _change(c.s_susp, "suspend", dt.date(2026, 9, 20), end_date=TODAY + dt.timedelta(days=5))
    _change(c.s_b, "leave", dt.date(2026, 9, 1), end_date=dt.date(2026, 12, 31))
    # -- 送教上门: s_ht had 2 visits last month, s_ht2 one; nobody this month yet
    for student, visits in ((c.s_ht, 2), (c.s_ht2, 1)):
        plan = HomeTeachingPlan.objects.create(student=student, disability_category="肢体残疾",
                                               teachers="王老师", start_date=dt.date(2026, 9, 1))
        for k in range(visits):
            HomeTeachingVisit.objects.create(plan=plan, visit_date=dt.date(2026, 10, 5 + 10 * k),
                                             teachers="王老师", content="culture")
    # -- 资助 and 返校报到
    AidRecord.objects.create(student=c.s_a, term="2026-autumn", kind="living",
                             granted_on=dt.date(2026, 9, 30))
    ReturnReport.objects.create(student=c.s_a, term="2026-autumn", reported_on=dt.date(2026, 9, 1))
    # -- census 2026 (school age: born 2010-09-01 .. 2020-08-31)
    for student in (c.s_a, c.s_direct, c.so1, c.g9c):
        CensusEntryFactory(year=2026, township=c.ta, id_number=student.id_number,
                           birth_date=student.birth_date)
    for student in (c.s_b, c.sv):
        CensusEntryFactory(year=2026, township=c.tb, id_number=student.id_number,
                           birth_date=student.birth_date)
    c.c_def = CensusEntryFactory(year=2026, township=c.ta)
    c.c_none = CensusEntryFactory(year=2026, township=c.ta)
    CensusEntryFactory(year=2026, township=c.ta, birth_date=dt.date(2008, 5, 1))  # too old
    CensusEntryFactory(year=2025, township=c.ta)  # last year's list
    Deferral.objects.create(school=c.a_primary, id_number=c.c_def.id_number, name=c.c_def.name,
                            birth_date=c.c_def.birth_date, guardian_name="家长", reason="疾病",
                            certificate="医院证明", start_date=dt.date(2026, 9, 1),
                            end_date=TODAY + dt.timedelta(days=5), review="approved")
    Deferral.objects.create(school=c.b_primary, id_number="341522201501010011", name="待审",
                            birth_date=dt.date(2015, 1, 1), guardian_name="家长", reason="残疾",
                            certificate="残联证明", start_date=dt.date(2026, 9, 1),
                            end_date=dt.date(2027, 8, 31))
    # -- alerts
    c.A1 = _alert(1, "return_check", "open", school=c.a_primary)
    c.A2 = _alert(2, "return_check", "confirmed", school=c.a_primary)
    c.A3 = _alert(3, "return_check", "dismissed", school=c.b_primary)
    c.A4 = _alert(4, "census", "open", township=c.ta, level="township")
    c.A5 = _alert(5, "return_check", "open", school=c.direct)
    c.A6 = _alert(6, "return_check", "open", school=c.a_primary, raised=at(2026, 3, 1))
    c.A7 = _alert(7, "home_teaching", "open", school=c.a_primary)
    c.A8 = _alert(8, "grade9_screening", "confirmed", school=c.a_center, raised=at(2026, 10, 5),
                  closed=at(2026, 10, 20))
    # -- sweep runs: the latest return check raised A1 and A3, an older one A2
    old = SweepRun.objects.create(sweep="return_check", as_of=dt.date(2026, 9, 1), period="2026-autumn",
                                  status="succeeded", created=1)
    c.run = SweepRun.objects.create(sweep="return_check", as_of=TODAY, period="2026-autumn",
                                    status="succeeded", created=2)
    Alert.objects.filter(pk=c.A2.pk).update(sweep_run=old)
    Alert.objects.filter(pk__in=[c.A1.pk, c.A3.pk]).update(sweep_run=c.run)
    # -- 劝返 cases
    u = c.county_user
    c.C1 = _case(1, "open", school=c.a_primary, opened=NOW, user=u)
    c.C2 = _case(2, "open", school=c.a_primary, opened=at(2026, 10, 1), user=u)
    PersuasionAttempt.objects.create(case=c.C2, attempted_on=dt.date(2026, 10, 3), people="班主任",
                                     method="home_visit", result="家长不同意", outcome="continuing",
                                     recorded_by=u)
    c.C3 = _case(3, "escalated", school=c.a_center, opened=at(2026, 9, 20), user=u)
    Escalation.objects.create(case=c.C3, township=c.ta, note="劝返无效", deadline=dt.date(2026, 12, 1),
                              escalated_by=u)
    c.C4 = _case(4, "closed", school=c.b_primary, opened=at(2026, 9, 10), closed=at(2026, 9, 20),
                 closure="returned", user=u)
    c.C5 = _case(5, "closed", school=c.b_primary, opened=at(2026, 10, 1), closed=at(2026, 10, 31),
                 closure="data_error", user=u)
    # -- feedback items
    batch = FeedbackBatch.objects.create(title="省反馈名单", received_on=dt.date(2026, 10, 1),
                                         due_date=TODAY - dt.timedelta(days=1))
    for row, (result, due) in enumerate((("", TODAY - dt.timedelta(days=1)),
                                          ("in_school", TODAY - dt.timedelta(days=1)),
                                          ("", TODAY + dt.timedelta(days=1))), start=1):
        FeedbackItem.objects.create(batch=batch, row=row, name=f"核查{row}",
                                    id_number=f"3415222015010100{row:02d}", school=c.a_primary,
                                    township=c.ta, due_date=due, result=result)
    # -- cohort intake (grade 1 in autumn 2018)
    CohortIntake.objects.create(year=2018, school=c.a_primary, grade1_count=10, transfers_out=1)
    CohortIntake.objects.create(year=2018, school=c.b_primary, grade1_count=5)
    CohortIntake.objects.create(year=2017, school=c.b_primary, grade1_count=99)  # another cohort
    return c
