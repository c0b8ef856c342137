"""A hand-built county for the school-year tests: one child per rollover rule."""

from __future__ import annotations

import datetime as dt

import pytest

from students.models import StatusChange, Student
from tests.factories import SchoolFactory, StudentFactory, TownshipFactory, UserFactory

YEAR = 2025  # the tests close 2025–2026
JULY = dt.date(2026, 7, 15)
S = Student.Status
K = StatusChange.Kind


@pytest.fixture
def years(db):
    return build_years()


@pytest.fixture
def two_towns(years):
    return add_second_township(years)


def build_years():
    """One township with a nine-year center school, a junior school, a primary school whose
    对口初中 is that junior school, a teaching point without one; a county-direct 完全中学 and a
    special-education school. One child per rule, plus children already gone."""
    t = TownshipFactory(code="341522100", name="甲镇")
    ns = type("Years", (), {})()
    ns.t = t
    ns.center = SchoolFactory(township=t, is_center=True, name="甲镇中心学校", kind="nine_year")
    ns.junior = SchoolFactory(township=t, name="甲镇中学", kind="junior")
    ns.primary = SchoolFactory(township=t, name="甲镇东岗小学", kind="primary", junior_school=ns.junior)
    ns.point = SchoolFactory(township=t, name="甲镇西湖教学点", kind="point")
    ns.complete = SchoolFactory(township=t, name="县第二中学", kind="complete", oversight="county")
    ns.special = SchoolFactory(township=t, name="县特殊教育学校", kind="special", oversight="county")
    ns.county_user = UserFactory(username="rollover_county", role="county")

    def child(name, school, grade, status=S.ENROLLED, class_name="1班"):
        return StudentFactory(name=name, school=school, grade=grade, status=status,
                              class_name=class_name, hukou_township=t)

    ns.p1 = child("小一", ns.primary, 1)
    ns.p5 = child("小五", ns.primary, 5, class_name="2班")
    ns.p6 = child("小六", ns.primary, 6)
    ns.p6_home = child("小六送教", ns.primary, 6, S.HOME_TEACHING)
    ns.point6 = child("点六", ns.point, 6)
    ns.nine6 = child("九六", ns.center, 6, class_name="3班")
    ns.nine9 = child("九九", ns.center, 9)
    ns.j7 = child("初一", ns.junior, 7)
    ns.j8_home = child("初二送教", ns.junior, 8, S.HOME_TEACHING)
    ns.j9 = child("初三", ns.junior, 9)
    ns.complete6 = child("完中六", ns.complete, 6)
    ns.special6 = child("特教六", ns.special, 6)
    ns.suspended = child("休学", ns.primary, 4, S.SUSPENDED)
    ns.suspected = child("疑似", ns.primary, 3, S.SUSPECTED)
    ns.dropped = child("辍学", ns.junior, 8, S.DROPPED_OUT)
    ns.deferred = child("延缓", ns.primary, 1, S.DEFERRED)
    ns.repeat = child("留级", ns.primary, 4)
    ns.repeat9 = child("留级九", ns.junior, 9)
    ns.repeat_old = child("去年留级", ns.primary, 3)
    for kid, day in ((ns.repeat, dt.date(2026, 6, 20)), (ns.repeat9, dt.date(2025, 9, 10)),
                     (ns.repeat_old, dt.date(2025, 6, 20))):
        StatusChange.objects.create(student=kid, kind=K.REPEAT, effective_date=day,
                                    from_status=kid.status, to_status=kid.status, reason="学业")
    ns.gone = [child("已转出", ns.primary, 5, S.TRANSFERRED), child("外县", ns.junior, 7, S.OUT_OF_COUNTY),
               child("早毕业", ns.junior, 9, S.GRADUATED), child("中职", ns.junior, 9, S.VOCATIONAL)]
    return ns


def add_second_township(years):
    """`years` plus a second township (乙镇) with a primary school, and a user per role."""
    y = years
    y.tb = TownshipFactory(code="341522101", name="乙镇")
    y.b_primary = SchoolFactory(township=y.tb, name="乙镇南庄小学", kind="primary",
                                junior_school=y.junior)
    y.b3 = StudentFactory(name="乙三", school=y.b_primary, grade=3, hukou_township=y.tb)
    y.b6 = StudentFactory(name="乙六", school=y.b_primary, grade=6, hukou_township=y.tb)
    y.township_user = UserFactory(username="rollover_township", role="township", township=y.t)
    y.township_b_user = UserFactory(username="rollover_township_b", role="township", township=y.tb)
    y.school_user = UserFactory(username="rollover_school", role="school", school=y.primary)
    return y
