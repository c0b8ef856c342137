"""The year-end rollover (学年结转) on a hand-built county: every rule, idempotence, revert."""

from __future__ import annotations

import datetime as dt

import pytest

from kongchuo.access.models import AuditEvent
from kongchuo.calendar.models import SchoolYear
from kongchuo.calendar.schoolyear import current_school_year, current_term
from students.models import StatusChange, Student
from students.rollover import RolloverRefused, rollover_apply, rollover_preview, rollover_revert
from tests.schoolyear.conftest import JULY, YEAR

pytestmark = pytest.mark.django_db

S = Student.Status
K = StatusChange.Kind


def _state() -> dict:
    return {s.pk: (s.grade, s.status, s.school_id, s.class_name)
            for s in Student.objects.order_by("pk")}


def _changes() -> set:
    return set(StatusChange.objects.values_list(
        "student_id", "kind", "effective_date", "from_status", "to_status", "from_grade", "to_grade"))


def test_each_rule_moves_exactly_its_children(years):
    y = years
    result = rollover_apply(year=YEAR, user=y.county_user, today=JULY)
    assert result.as_json() == {
        "year": YEAR, "students": 19, "promoted": 8, "graduated_primary": 3,
        "graduated_junior": 2, "held_back": 4, "repeated": 2, "already_done": False}
    assert list(result.as_json()) == ["year", "students", "promoted", "graduated_primary",
                                      "graduated_junior", "held_back", "repeated", "already_done"]

    def now(kid):
        kid.refresh_from_db()
        return kid.grade, kid.status, kid.school_id, kid.class_name

    # grades 1–5 and 7–8 move up in place, class kept; 送教上门 move with their grade
    assert now(y.p1) == (2, S.ENROLLED, y.primary.pk, "1班")
    assert now(y.p5) == (6, S.ENROLLED, y.primary.pk, "2班")
    assert now(y.j7) == (8, S.ENROLLED, y.junior.pk, "1班")
    assert now(y.j8_home) == (9, S.HOME_TEACHING, y.junior.pk, "1班")
    assert now(y.repeat_old) == (4, S.ENROLLED, y.primary.pk, "1班")  # last year's 留级 is spent
    # grade 6 at a school teaching grade 7: grade 7 in place
    assert now(y.nine6) == (7, S.ENROLLED, y.center.pk, "3班")
    assert now(y.complete6)[:2] == (7, S.ENROLLED)
    assert now(y.special6)[:2] == (7, S.ENROLLED)
    # grade 6 at a primary school or teaching point: 小学毕业, expecting the 对口初中
    assert now(y.p6) == (6, S.GRADUATED, y.primary.pk, "1班")
    assert now(y.p6_home)[:2] == (6, S.GRADUATED)
    assert now(y.point6)[:2] == (6, S.GRADUATED)
    grad = StatusChange.objects.get(student=y.p6, kind=K.GRADUATE)
    assert (grad.effective_date, grad.to_school_id, grad.source) == (dt.date(2026, 7, 1), y.junior.pk, "rollover")
    assert StatusChange.objects.get(student=y.point6, kind=K.GRADUATE).to_school_id is None
    # grade 9: 毕业
    assert now(y.j9)[:2] == (9, S.GRADUATED)
    assert now(y.nine9)[:2] == (9, S.GRADUATED)
    # held back and repeaters: untouched, no row
    for kid, grade, status in ((y.suspended, 4, S.SUSPENDED), (y.suspected, 3, S.SUSPECTED),
                               (y.dropped, 8, S.DROPPED_OUT), (y.deferred, 1, S.DEFERRED),
                               (y.repeat, 4, S.ENROLLED), (y.repeat9, 9, S.ENROLLED)):
        assert now(kid)[:2] == (grade, status)
        assert not StatusChange.objects.filter(student=kid, source="rollover").exists()
    for kid in y.gone:  # not on the rolls: not looked at
        before = (kid.grade, kid.status)
        assert now(kid)[:2] == before
    promote = StatusChange.objects.get(student=y.p5, kind=K.PROMOTE)
    assert (promote.effective_date, promote.from_grade, promote.to_grade, promote.from_status,
            promote.to_status) == (dt.date(2026, 9, 1), 5, 6, S.ENROLLED, S.ENROLLED)
    assert "五年级升入六年级" in promote.reason
    # one history row per moved child, the year closed and audited
    assert Student.history.filter(history_change_reason="学年结转").count() == 13
    year = SchoolYear.objects.get(year=YEAR)
    assert year.closed_at is not None and year.close_result["promoted"] == 8
    assert AuditEvent.objects.filter(action="rollover").count() == 1


def test_the_preview_says_the_same_by_school_and_grade(years):
    preview = rollover_preview(YEAR, today=JULY)
    rows = {(r.school, r.grade): r for r in preview.rows}
    assert rows[("甲镇东岗小学", 4)].held == {S.SUSPENDED: 1}
    assert rows[("甲镇东岗小学", 4)].repeated == 1
    assert rows[("甲镇东岗小学", 6)].graduated_primary == 2
    assert rows[("甲镇东岗小学", 6)].junior_school == "甲镇中学"
    assert rows[("甲镇中心学校", 6)].promoted == 1
    assert preview.no_junior_school == ["甲镇西湖教学点"]
    assert preview.refusal == ""
    applied = rollover_apply(year=YEAR, user=None, today=JULY)
    assert preview.result.as_json() == applied.as_json()


def test_a_second_run_changes_nothing(years):
    first = rollover_apply(year=YEAR, user=years.county_user, today=JULY)
    state, changes = _state(), _changes()
    again = rollover_apply(year=YEAR, user=years.county_user, today=JULY)
    assert again.already_done is True
    assert {**again.as_json(), "already_done": False} == first.as_json()
    assert _state() == state and _changes() == changes


def test_revert_restores_exactly(years):
    state, changes = _state(), _changes()
    rollover_apply(year=YEAR, user=years.county_user, today=JULY)
    assert _state() != state
    undone = rollover_revert(year=YEAR, user=years.county_user)
    assert (undone.promoted, undone.graduated_primary, undone.graduated_junior) == (8, 3, 2)
    assert _state() == state
    assert _changes() == changes
    assert SchoolYear.objects.get(year=YEAR).closed_at is None
    # …and the year can be closed again, with the same result
    assert rollover_apply(year=YEAR, user=years.county_user, today=JULY).promoted == 8


def test_revert_refuses_naming_children_changed_since(years):
    rollover_apply(year=YEAR, user=years.county_user, today=JULY)
    StatusChange.objects.create(student=years.j7, kind=K.SUSPEND, effective_date=dt.date(2026, 9, 5),
                                from_status=S.ENROLLED, to_status=S.SUSPENDED)
    Student.objects.filter(pk=years.p1.pk).update(grade=5)  # a roster re-import moved her
    state = _state()
    with pytest.raises(RolloverRefused) as refused:
        rollover_revert(year=YEAR, user=years.county_user)
    assert len(refused.value.children) == 2
    assert any(name.startswith("初一") for name in refused.value.children)
    assert any(name.startswith("小一") for name in refused.value.children)
    assert "**" in refused.value.children[0]  # ID numbers masked
    assert _state() == state
    assert SchoolYear.objects.get(year=YEAR).closed_at is not None


@pytest.mark.parametrize(("year", "today", "words"), [
    (YEAR, dt.date(2026, 6, 30), "毕业日"),            # before graduation day
    (2023, dt.date(2026, 7, 15), "一年以上"),          # the rolls are no longer that year's
])
def test_refusals(years, year, today, words):
    state = _state()
    with pytest.raises(RolloverRefused, match=words):
        rollover_apply(year=year, user=None, today=today)
    assert _state() == state
    assert not SchoolYear.objects.filter(closed_at__isnull=False).exists()


def test_years_close_in_order(years):
    rollover_apply(year=YEAR, user=None, today=JULY)
    with pytest.raises(RolloverRefused, match="更早"):
        rollover_apply(year=YEAR - 1, user=None, today=JULY)
    with pytest.raises(RolloverRefused, match="请先结转"):
        rollover_apply(year=YEAR + 2, user=None, today=dt.date(2028, 7, 2))
    with pytest.raises(RolloverRefused, match="尚未结转"):
        rollover_revert(year=YEAR + 1, user=None)


def test_the_current_year_follows_the_rollover(years, time_machine):
    time_machine.move_to(dt.datetime(2026, 7, 20, 10, tzinfo=dt.UTC))
    assert current_school_year() == 2025
    assert current_term().full_label == "2025–2026学年 春季学期"
    rollover_apply(year=YEAR, user=None)
    assert current_school_year() == 2026
    assert current_term().full_label == "2026–2027学年 秋季学期"


def test_the_current_year_costs_no_query_outside_the_summer(years, django_assert_num_queries):
    """Only in July and August can a closed year put the county ahead of the calendar."""
    rollover_apply(year=YEAR, user=None, today=JULY)
    with django_assert_num_queries(0):
        assert current_school_year(dt.date(2026, 10, 9)) == 2026
        assert current_school_year(dt.date(2027, 3, 2)) == 2026
    with django_assert_num_queries(1):
        assert current_school_year(dt.date(2026, 8, 2)) == 2026


def test_a_child_in_transfer_keeps_its_grade_and_is_shown_held_back(years):
    """转学中 (issue 16 part 3) at the year's end: the receiving school has not confirmed, so the
    rollover neither promotes nor graduates the child; the preview names it held back."""
    kid = Student.objects.create(**{f.name: getattr(years.p5, f.name) for f in Student._meta.concrete_fields
                                    if f.name not in ("id", "id_number", "name")},
                                 id_number="34152220150716001X", name="转学中")
    Student.objects.filter(pk=kid.pk).update(status=S.TRANSFERRING, grade=9)
    preview = rollover_preview(YEAR, today=JULY)
    assert {(r.school, r.grade): r.held for r in preview.rows}[("甲镇东岗小学", 9)] == {S.TRANSFERRING: 1}
    result = rollover_apply(year=YEAR, user=years.county_user, today=JULY)
    assert result.held_back == 5
    kid.refresh_from_db()
    assert (kid.grade, kid.status) == (9, S.TRANSFERRING)
    assert not StatusChange.objects.filter(student=kid, source="rollover").exists()
