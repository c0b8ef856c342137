"""The imports' part in the school year: schools' 对口初中, and the 留级 list (status changes)."""

from __future__ import annotations

import datetime as dt

import pytest

from kongchuo.calendar.models import SchoolYear
from kongchuo.imports.pipeline import import_run
from students.models import School, StatusChange
from tests.factories import StudentFactory

pytestmark = pytest.mark.django_db

HEADER = ["乡镇", "乡镇代码", "学校名称", "学校标识码", "学校类型", "是否中心学校", "管理层级", "对口初中"]
CHANGE_HEADER = ["姓名", "身份证件号", "变动类型", "变动日期", "截止日期", "去向学校", "去向县区", "原因"]


def codes(result):
    return {e.row: (e.column, e.code) for e in result.errors}


def test_schools_name_their_junior_school_by_name_or_code(county, files):
    path = files.xlsx("s.xlsx", [
        ["甲镇", "341522100", "甲镇东岗小学", county.a_primary.code, "小学", "否", "乡镇", "甲镇新建初中"],
        ["甲镇", "341522100", "甲镇新建初中", "3415299010", "初中", "否", "乡镇", ""],
        ["乙镇", "341522101", "乙镇西湖小学", county.b_primary.code, "小学", "否", "乡镇", county.b_center.code],
    ], header=HEADER)
    r = import_run(kind="schools", path=path)
    assert r.errors == [] and (r.created, r.updated) == (1, 2)
    county.a_primary.refresh_from_db()
    county.b_primary.refresh_from_db()
    assert county.a_primary.junior_school == School.objects.get(code="3415299010")
    assert county.b_primary.junior_school == county.b_center
    again = import_run(kind="schools", path=path)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)


def test_a_junior_school_must_exist_and_teach_grade_7(county, files):
    path = files.xlsx("s.xlsx", [
        ["甲镇", "341522100", "甲镇东岗小学", county.a_primary.code, "小学", "否", "乡镇", "不存在的中学"],
        ["乙镇", "341522101", "乙镇西湖小学", county.b_primary.code, "小学", "否", "乡镇", "甲镇东岗小学"],
    ], header=HEADER)
    r = import_run(kind="schools", path=path)
    assert codes(r) == {4: ("对口初中", "school_unknown"), 5: ("对口初中", "value_invalid")}
    assert r.exit_code == 1
    county.a_primary.refresh_from_db()
    assert county.a_primary.junior_school is None


def test_the_repeat_list_comes_with_the_status_changes(county, files):
    home = StudentFactory(school=county.a_primary, status="home_teaching")
    away = StudentFactory(school=county.a_primary, status="suspended")
    path = files.xlsx("sc.xlsx", [
        [county.s_a.name, county.s_a.id_number, "留级", "2026-06-20", "", "", "", "学业未达标，家长申请"],
        [home.name, home.id_number, "留级", "2026-06-20", "", "", "", "身体原因"],
        [away.name, away.id_number, "留级", "2026-06-20", "", "", "", ""],
    ], header=CHANGE_HEADER)
    r = import_run(kind="status_changes", path=path)
    assert codes(r) == {6: ("变动类型", "value_invalid")}
    r = import_run(kind="status_changes", path=path, skip_invalid=True)
    assert r.created == 2
    row = StatusChange.objects.get(student=county.s_a)
    assert (row.kind, row.effective_date, row.from_status, row.to_status) == (
        "repeat", dt.date(2026, 6, 20), "enrolled", "enrolled")
    county.s_a.refresh_from_db()
    assert county.s_a.status == "enrolled"


def test_no_repeat_list_for_a_closed_year(county, files):
    SchoolYear.objects.create(year=2025, closed_at=dt.datetime(2026, 7, 20, tzinfo=dt.UTC))
    path = files.xlsx("sc.xlsx", [
        [county.s_a.name, county.s_a.id_number, "留级", "2026-06-20", "", "", "", ""],
        [county.s_b.name, county.s_b.id_number, "留级", "2026-09-20", "", "", "", ""],
    ], header=CHANGE_HEADER)
    r = import_run(kind="status_changes", path=path)
    assert codes(r) == {4: ("变动日期", "value_invalid")}
    assert "已结转" in r.errors[0].message("zh")
