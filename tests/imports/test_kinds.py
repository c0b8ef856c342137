"""The other six kinds: schools, census, support, returns, status_changes, feedback."""

from __future__ import annotations

import datetime as dt

import pytest

from kongchuo.imports.base import ImportRefused
from kongchuo.imports.pipeline import import_run
from ledgers.models import ReturnReport
from retrieval.models import FeedbackBatch, FeedbackItem
from students.models import CensusEntry, School, StatusChange, SupportMark, Township, TransferRequest
from tests.factories import StudentFactory
from tests.imports.conftest import new_id

pytestmark = pytest.mark.django_db


def codes(result):
    return {e.row: e.code for e in result.errors}


# --------------------------------------------------------------------------- schools

SCHOOL_HEADER = ["乡镇", "乡镇代码", "学校名称", "学校标识码", "学校类型", "是否中心学校", "管理层级"]


def test_schools_create_and_update_townships_and_schools(county, files):
    path = files.xlsx("s.xlsx", [
        ["丙镇", "341522102", "丙镇中心学校", "3415299001", "九年一贯制", "是", "乡镇"],
        ["丙镇", "341522102", "丙镇前进小学", 3415299002, "小学", "否", ""],
        ["甲镇", "341522100", "甲镇东岗小学（更名）", county.a_primary.code, "小学", "否", "乡镇"],
        ["城关镇", "341522100", "霍邱县特殊教育学校", "3415299003", "特殊教育学校", "×", "县直"],
    ], header=SCHOOL_HEADER, title="学校名录", info=None)
    r = import_run(kind="schools", path=path)
    assert codes(r) == {6: "value_invalid"}  # same township code, another name
    assert r.exit_code == 1 and not Township.objects.filter(code="341522102").exists()
    r = import_run(kind="schools", path=path, skip_invalid=True)
    assert (r.created, r.updated, r.extra["townships_created"]) == (2, 1, 1)
    town = Township.objects.get(code="341522102")
    center = School.objects.get(code="3415299001")
    assert (center.township, center.is_center, center.kind) == (town, True, "nine_year")
    assert School.objects.get(code="3415299002").oversight == "township"  # blank → 乡镇
    county.a_primary.refresh_from_db()
    assert county.a_primary.name == "甲镇东岗小学(更名)"  # NFKC, as every imported text
    assert import_run(kind="schools", path=path, skip_invalid=True).unchanged == 3


def test_schools_one_center_per_township(county, files):
    path = files.xlsx("s.xlsx", [
        ["甲镇", "341522100", "甲镇东岗小学", county.a_primary.code, "小学", "是", "乡镇"],
    ], header=SCHOOL_HEADER)
    r = import_run(kind="schools", path=path)
    assert codes(r) == {4: "value_invalid"} and "中心学校" in r.errors[0].message("zh")
    swap = files.xlsx("swap.xlsx", [
        ["甲镇", "341522100", "甲镇东岗小学", county.a_primary.code, "小学", "是", "乡镇"],
        ["甲镇", "341522100", "甲镇中心学校", county.a_center.code, "九年一贯制", "否", "乡镇"],
    ], header=SCHOOL_HEADER)
    r = import_run(kind="schools", path=swap)
    assert r.errors == [] and r.updated == 2
    assert School.objects.get(township=county.ta, is_center=True) == county.a_primary
    bad = files.xlsx("bad.xlsx", [["甲镇", "341522100", "某中学", "3415299009", "完中", "是", "县直"]],
                     header=SCHOOL_HEADER)
    assert codes(import_run(kind="schools", path=bad)) == {4: "value_invalid"}


# --------------------------------------------------------------------------- census

CENSUS_HEADER = ["序号", "姓名", "身份证件号", "性别", "出生日期", "户籍乡镇", "户籍地址"]


def _census_row(n, id_number, township="甲镇", **over):
    from kongchuo.access.idnumbers import birth_date_of, sex_of

    row = {"序号": n, "姓名": f"儿童{n}", "身份证件号": id_number,
           "性别": "男" if sex_of(id_number) == "M" else "女", "出生日期": birth_date_of(id_number),
           "户籍乡镇": township, "户籍地址": f"安徽省霍邱县{township}"}
    row.update(over)
    return [row[h] for h in CENSUS_HEADER]


def test_census_rows_per_year_and_unmatched(county, files):
    a, b = new_id(1, 2012), new_id(2, 2013)
    path = files.xlsx("c.xlsx", [
        _census_row(1, county.s_a.id_number),
        _census_row(2, a, township="341522101"),  # by code
        _census_row(3, b, township="霍邱县乙镇"),  # county name in front
        _census_row(4, new_id(3), township="丁镇"),
        _census_row(5, new_id(4), 出生日期=dt.date(2001, 1, 1)),
    ], header=CENSUS_HEADER)
    r = import_run(kind="census", path=path, options={"year": 2024})
    assert codes(r) == {7: "value_invalid", 8: "birth_mismatch"}
    r = import_run(kind="census", path=path, options={"year": 2024}, skip_invalid=True)
    assert (r.created, r.extra["unmatched"]) == (3, 2)
    assert CensusEntry.objects.get(id_number=a, year=2024).township == county.tb
    assert import_run(kind="census", path=path, options={"year": 2024}, skip_invalid=True).unchanged == 3
    assert import_run(kind="census", path=path, options={"year": 2025}, skip_invalid=True).created == 3


def test_census_township_user_only_its_township(county, files):
    path = files.xlsx("c.xlsx", [_census_row(1, new_id(1)), _census_row(2, new_id(2), township="乙镇")],
                      header=CENSUS_HEADER)
    r = import_run(kind="census", path=path, user=county.township_a, options={"year": 2024})
    assert codes(r) == {5: "value_invalid"} and not CensusEntry.objects.exists()
    with pytest.raises(ImportRefused):
        import_run(kind="census", path=path, user=county.school_a)


def test_census_bad_year_is_refused(county, files):
    path = files.xlsx("c.xlsx", [_census_row(1, new_id(1))], header=CENSUS_HEADER)
    with pytest.raises(ImportRefused) as exc:
        import_run(kind="census", path=path, options={"year": "19"})
    assert exc.value.exit_code == 2


# --------------------------------------------------------------------------- support

def test_support_list_sets_flag_with_source_and_date(county, files):
    outsider = new_id(9)
    path = files.xlsx("dibao.xlsx", [
        ["姓名", "身份证件号", "认定日期"],
        [county.s_a.name, county.s_a.id_number, "2024-03-01"],
        ["某儿童", outsider, ""],
    ], title="低保家庭儿童名单", info=None)
    with pytest.raises(ImportRefused):
        import_run(kind="support", path=path)  # --list is required
    r = import_run(kind="support", path=path, options={"list": "低保"})
    assert (r.created, r.extra["unmatched"], r.exit_code) == (2, 1, 0)
    county.s_a.refresh_from_db()
    assert county.s_a.is_dibao is True
    mark = SupportMark.objects.get(id_number=county.s_a.id_number, kind="dibao")
    assert (mark.student, mark.listed_on, mark.source) == (county.s_a, dt.date(2024, 3, 1), "低保名单")
    assert SupportMark.objects.get(id_number=outsider).student is None
    again = import_run(kind="support", path=path, options={"list": "dibao"})
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)


def test_support_disability_list(county, files):
    path = files.xlsx("d.xlsx", [["姓名", "身份证件号", "残疾类别", "残疾等级"],
                                  [county.s_b.name, county.s_b.id_number, "肢体残疾", "二级"]], title=None, info=None)
    r = import_run(kind="support", path=path, options={"list": "disability"})
    assert r.created == 1
    county.s_b.refresh_from_db()
    assert (county.s_b.disability_category, county.s_b.disability_grade) == ("肢体残疾", "二级")


def test_support_is_county_only(county, files):
    path = files.xlsx("d.xlsx", [["姓名", "身份证件号"], ["x", county.s_a.id_number]], title=None, info=None)
    with pytest.raises(ImportRefused):
        import_run(kind="support", path=path, user=county.township_a, options={"list": "dibao"})


# --------------------------------------------------------------------------- returns

RETURN_HEADER = ["序号", "姓名", "身份证件号", "报到状态", "报到日期"]


def test_returns_by_term_or_date(county, files):
    path = files.xlsx("r.xlsx", [
        [1, county.s_a.name, county.s_a.id_number, "已报到", dt.date(2024, 2, 26)],
        [2, county.s_b.name, county.s_b.id_number, "未报到", ""],
        [3, "无此人", new_id(1), "已报到", dt.date(2024, 2, 26)],
        [4, county.s_a2.name, county.s_a2.id_number, "", "2024/2/27"],
    ], header=RETURN_HEADER)
    r = import_run(kind="returns", path=path)
    assert codes(r) == {6: "student_unknown"} and r.exit_code == 1
    r = import_run(kind="returns", path=path, skip_invalid=True)
    assert (r.created, r.skipped, r.rejected) == (2, 1, 1)
    assert r.rows == r.created + r.updated + r.unchanged + r.skipped + r.rejected
    report = ReturnReport.objects.get(student=county.s_a)
    assert (report.term, report.reported_on, report.source) == ("2024-spring", dt.date(2024, 2, 26), "import")
    assert report.history.count() == 1
    again = import_run(kind="returns", path=path, skip_invalid=True, options={"term": "2024-spring"})
    assert (again.created, again.unchanged) == (0, 2)


def test_returns_need_a_date_without_term(county, files):
    path = files.xlsx("r.xlsx", [[1, county.s_a.name, county.s_a.id_number, "已报到", ""]],
                      header=RETURN_HEADER)
    assert codes(import_run(kind="returns", path=path)) == {4: "required_missing"}
    r = import_run(kind="returns", path=path, options={"term": "2024-autumn"})
    assert r.created == 1 and ReturnReport.objects.get().term == "2024-autumn"
    with pytest.raises(ImportRefused):
        import_run(kind="returns", path=path, options={"term": "2024春"})


def test_returns_school_sees_only_its_students(county, files):
    path = files.xlsx("r.xlsx", [[1, "", county.s_a.id_number, "已报到", "2024-02-26"],
                                  [2, "", county.s_b.id_number, "已报到", "2024-02-26"]],
                      header=RETURN_HEADER)
    r = import_run(kind="returns", path=path, user=county.school_a)
    assert codes(r) == {5: "student_unknown"}
    assert not ReturnReport.objects.exists()


# --------------------------------------------------------------------------- status changes

CHANGE_HEADER = ["姓名", "身份证件号", "变动类型", "变动日期", "截止日期", "去向学校", "去向县区", "原因"]


def test_status_changes_follow_the_rules(county, files):
    extra = StudentFactory(school=county.a_primary)
    dead = StudentFactory(school=county.a_primary)
    path = files.xlsx("sc.xlsx", [
        [county.s_a.name, county.s_a.id_number, "转出", "2024-02-24", "", county.b_primary.name, "霍邱县", "随迁"],
        [county.s_a2.name, county.s_a2.id_number, "转出", "2024-02-26", "", "合肥市琥珀小学", "合肥市蜀山区", ""],
        [county.s_b.name, county.s_b.id_number, "休学", "2024-02-26", "2025-02-25", "", "", "因病"],
        [extra.name, extra.id_number, "请假", "2024-02-26", "2024-03-05", "", "", "事假"],
        [dead.name, dead.id_number, "死亡", "2024-01-15", "", "", "", ""],
        [county.s_direct.name, county.s_direct.id_number, "中职就读", "2024-02-26", "", "六安职业技术学校", "六安市", ""],
    ], header=CHANGE_HEADER)
    r = import_run(kind="status_changes", path=path)
    assert r.errors == [] and (r.created, r.extra["moved"]) == (6, 1)
    for s in (county.s_a, county.s_a2, county.s_b, extra, dead, county.s_direct):
        s.refresh_from_db()
    # Issue 16: a 转出 to a school of the county is a transfer the receiving side confirms; the
    # child is 转学中 on the sending school's roll until then.
    assert (county.s_a.school, county.s_a.status) == (county.a_primary, "transferring")
    transfer = TransferRequest.objects.get(student=county.s_a)
    assert (transfer.direction, transfer.state, transfer.to_school, transfer.status_before,
            transfer.requested_on) == ("out", "pending", county.b_primary, "enrolled", dt.date(2024, 2, 24))
    assert StatusChange.objects.get(student=county.s_a).kind == "transfer_request"
    assert county.s_a2.status == "out_of_county" and county.s_a2.school == county.a_center
    assert county.s_b.status == "suspended" and extra.status == "enrolled"
    assert dead.status == "deceased" and county.s_direct.status == "vocational"
    change = StatusChange.objects.get(student=county.s_a2)
    assert (change.to_school_name, change.to_county, change.from_status) == ("合肥市琥珀小学", "合肥市蜀山区", "enrolled")
    assert StatusChange.objects.get(student=county.s_b).end_date == dt.date(2025, 2, 25)
    assert county.s_a.history.filter(history_change_reason="import").count() == 1
    again = import_run(kind="status_changes", path=path)
    assert (again.created, again.unchanged) == (0, 6)
    assert StatusChange.objects.count() == 6 and TransferRequest.objects.count() == 1


def test_status_change_errors(county, files):
    path = files.xlsx("sc.xlsx", [
        ["", new_id(1), "转出", "2024-02-24", "", "合肥某校", "合肥市", ""],
        ["", county.s_a.id_number, "转出", "2024-02-24", "", "霍邱县不存在学校", "霍邱县", ""],
        ["", county.s_b.id_number, "休学", "2024-03-01", "2024-02-01", "", "", ""],
        ["", county.s_b.id_number, "开除", "2024-03-01", "", "", "", ""],
        ["", county.s_a2.id_number, "转出", "", "", "", "", ""],
        ["", county.s_direct.id_number, "转出", "2024-03-01", "", "", "", ""],
    ], header=CHANGE_HEADER)
    r = import_run(kind="status_changes", path=path)
    assert codes(r) == {4: "student_unknown", 5: "school_unknown", 6: "value_invalid", 7: "value_invalid",
                        8: "required_missing", 9: "required_missing"}
    assert not StatusChange.objects.exists()


def test_status_changes_outside_scope_are_unknown(county, files):
    path = files.xlsx("sc.xlsx", [["", county.s_b.id_number, "休学", "2024-03-01", "", "", "", ""]],
                      header=CHANGE_HEADER)
    r = import_run(kind="status_changes", path=path, user=county.township_a)
    assert codes(r) == {4: "student_unknown"}


# --------------------------------------------------------------------------- feedback

def test_feedback_list_becomes_a_batch_with_items(county, files):
    outsider = new_id(7)
    path = files.xlsx("fb.xlsx", [
        [1, county.s_a.name, county.s_a.id_number, county.a_primary.name, "疑似辍学", "备注一"],
        [2, "郝某", outsider, "", "户籍在本县未见学籍", ""],
    ], header=["序号", "姓名", "身份证件号", "学校名称", "问题类型", "备注"],
        title="安徽省控辍保学疑似辍学学生名单", info="下发单位：安徽省教育厅  下发日期：2024-11-05")
    r = import_run(kind="feedback", path=path, options={"due": "2024-12-05"})
    assert (r.created, r.extra["matched"], r.extra["unmatched"]) == (2, 1, 1)
    batch = FeedbackBatch.objects.get()
    assert batch.title == "安徽省控辍保学疑似辍学学生名单" and batch.issuer == "安徽省教育厅"
    assert batch.columns == ["序号", "姓名", "身份证件号", "学校名称", "问题类型", "备注"]
    assert batch.due_date == dt.date(2024, 12, 5)
    item = FeedbackItem.objects.get(id_number=county.s_a.id_number)
    assert (item.row, item.student, item.school, item.township) == (4, county.s_a, county.a_primary, county.ta)
    assert item.original["备注"] == "备注一" and item.original["序号"] == 1
    assert FeedbackItem.objects.get(id_number=outsider).student is None
    again = import_run(kind="feedback", path=path)
    assert (again.created, again.unchanged) == (0, 2) and FeedbackBatch.objects.count() == 1
