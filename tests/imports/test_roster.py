"""The roster kind: every quirk of real 学籍 exports, every error code, moves, missing, scope."""

from __future__ import annotations

import datetime as dt

import pytest

from kongchuo.imports.pipeline import import_run
from students.models import StatusChange, Student
from tests.imports.conftest import ROSTER_HEADER, new_id, roster_row

pytestmark = pytest.mark.django_db


def run(path, user=None, **kw):
    return import_run(kind="roster", path=path, user=user, **kw)


def codes(result):
    return {e.row: e.code for e in result.errors}


def test_new_students_are_created_with_history(county, files):
    a, b = new_id(1), new_id(2)
    path = files.roster("r.xlsx", [roster_row(1, county.a_primary, id_number=a, name="王小明"),
                                   roster_row(2, county.a_center, id_number=b, name="赵丽", grade="七年级")])
    r = run(path)
    assert (r.exit_code, r.rows, r.created, r.updated, r.unchanged, r.rejected) == (0, 2, 2, 0, 0, 0)
    s = Student.objects.get(id_number=a)
    assert (s.school, s.grade, s.name, s.status, s.class_name) == (county.a_primary, 3, "王小明", "enrolled", "1班")
    assert s.name_initials == "wxm"
    assert s.guardian_phone == "13800000000" and s.entry_month == dt.date(2021, 9, 1)
    assert s.hukou_township == county.ta  # 户口所在地 names 甲镇
    assert Student.objects.get(id_number=b).grade == 7
    assert s.history.filter(history_type="+").count() == 1


def test_quirks_are_normalised(county, files):
    """Full-width digits, U+3000, a leading apostrophe, lower-case x; every date, grade and
    是/否 spelling; blank rows anywhere; a 合计 footer; title rows above the header."""
    ids = [new_id(i) for i in range(20)]
    x_id = next(i for i in (new_id(n) for n in range(20, 400)) if i.endswith("X"))
    fw = str.maketrans("0123456789", "０１２３４５６７８９")
    rows = [
        roster_row(1, county.a_primary, id_number=ids[0].translate(fw), grade="一年级"),
        roster_row(2, county.a_primary, id_number=ids[1][:6] + "\u3000" + ids[1][6:], grade="初一"),
        None,
        roster_row(3, county.a_primary, id_number="'" + ids[2], grade="七年级"),
        roster_row(4, county.a_primary, id_number=x_id.lower(), grade=9),
        roster_row(5, county.a_primary, id_number=" " + ids[4] + " ", grade="9"),
        roster_row(6, county.a_primary, id_number=ids[5], grade="初三",
                   出生日期=f"{int(ids[5][6:10])}/{int(ids[5][10:12])}/{int(ids[5][12:14])}"),
        roster_row(7, county.a_primary, id_number=ids[6], grade="二年级", 出生日期=ids[6][6:14]),
        roster_row(8, county.a_primary, id_number=ids[7], grade="初二",
                   出生日期=f"{ids[7][6:10]}年{int(ids[7][10:12])}月{int(ids[7][12:14])}日"),
        roster_row(9, county.a_primary, id_number=ids[8], grade="六年级",
                   出生日期=f"{ids[8][6:10]}.{ids[8][10:12]}.{ids[8][12:14]}"),
        roster_row(10, county.a_primary, id_number=ids[9], grade=5, 出生日期=f"{ids[9][6:10]}-{ids[9][10:12]}-{ids[9][12:14]}",
                   是否建档立卡贫困户="√", 是否低保="Y", 是否特困供养=1, 是否留守儿童="是", 入学年月="201909"),
        roster_row(11, county.a_primary, id_number=ids[10], grade=4.0, 是否建档立卡贫困户="×",
                   是否低保="N", 是否特困供养=0, 是否留守儿童="", 入学年月="2019年9月"),
        None,
        roster_row(12, county.a_primary, id_number=ids[11], 是否留守儿童="1", 是否进城务工人员随迁子女="否"),
    ]
    path = files.roster("quirks.xlsx", rows, footer=["合计", "", "", "", "", "12人"])
    r = run(path)
    assert r.errors == [] and r.exit_code == 0, [e.as_dict() for e in r.errors]
    assert r.rows == 12 and r.created == 12
    got = dict(Student.objects.values_list("id_number", "grade"))
    assert got[ids[0]] == 1 and got[ids[1]] == 7 and got[ids[2]] == 7 and got[x_id] == 9
    assert got[ids[4]] == 9 and got[ids[5]] == 9 and got[ids[7]] == 8 and got[ids[10]] == 4
    s9 = Student.objects.get(id_number=ids[9])
    assert (s9.is_poor, s9.is_dibao, s9.is_tekun, s9.is_left_behind) == (True, True, True, True)
    assert s9.entry_month == dt.date(2019, 9, 1)
    s10 = Student.objects.get(id_number=ids[10])
    assert (s10.is_poor, s10.is_dibao, s10.is_tekun, s10.is_left_behind) == (False, False, False, False)
    assert s10.entry_month == dt.date(2019, 9, 1)
    assert Student.objects.get(id_number=ids[11]).is_left_behind is True


def test_every_error_code_with_the_row_users_see(county, files):
    good = [new_id(i) for i in range(10)]
    bad_check = good[1][:17] + ("0" if good[1][17] != "0" else "1")
    dup = new_id(50)
    rows = [
        roster_row(1, county.a_primary, id_number=good[0]),                            # row 4: fine
        roster_row(2, county.a_primary, id_number=3.41522201505e17),                    # 5 id_numeric
        roster_row(3, county.a_primary, id_number=bad_check),                           # 6 id_checksum
        roster_row(4, county.a_primary, id_number="34152220150601"),                    # 7 id_format
        roster_row(5, county.a_primary, id_number=good[2][:10] + "1399" + good[2][14:]),  # 8 id_birthdate
        roster_row(6, county.a_primary, id_number=good[3], birth=dt.date(2001, 1, 1)),  # 9 birth_mismatch
        roster_row(7, county.a_primary, id_number=good[4],
                   sex="女" if int(good[4][16]) % 2 else "男"),                          # 10 gender_mismatch
        roster_row(8, county.a_primary, id_number=good[5], grade="十年级"),              # 11 grade_unknown
        roster_row(9, None, id_number=good[6], 学校名称="不存在小学"),                     # 12 school_unknown
        roster_row(10, county.a_primary, id_number=good[7], name=""),                   # 13 required_missing
        roster_row(11, county.a_primary, id_number=dup),                                # 14 duplicate
        roster_row(12, county.a_primary, id_number=dup, name="另一人"),                  # 15 duplicate
        roster_row(13, county.a_primary, id_number=good[8], 入学年月="去年"),             # 16 value_invalid
    ]
    path = files.roster("bad.xlsx", rows)
    r = run(path)
    assert codes(r) == {5: "id_numeric", 6: "id_checksum", 7: "id_format", 8: "id_birthdate",
                        9: "birth_mismatch", 10: "gender_mismatch", 11: "grade_unknown",
                        12: "school_unknown", 13: "required_missing", 14: "duplicate_in_file",
                        15: "duplicate_in_file", 16: "value_invalid"}
    columns = {e.row: e.column for e in r.errors}
    assert columns[5] == "身份证件号" and columns[9] == "出生日期" and columns[10] == "性别"
    assert columns[11] == "年级" and columns[12] == "学校名称" and columns[16] == "入学年月"
    assert r.rejected == 12 and r.exit_code == 1 and not r.written
    assert not Student.objects.filter(id_number=good[0]).exists()  # all-or-nothing
    assert "文本" in next(e for e in r.errors if e.code == "id_numeric").message("zh")
    assert r.rows == r.created + r.updated + r.unchanged + r.skipped + r.rejected


def test_skip_invalid_writes_the_valid_rows(county, files):
    a = new_id(1)
    path = files.roster("r.xlsx", [roster_row(1, county.a_primary, id_number=a),
                                   roster_row(2, county.a_primary, id_number=new_id(2), grade="十年级")])
    r = run(path, skip_invalid=True)
    assert (r.exit_code, r.created, r.rejected, r.written) == (0, 1, 1, True)
    assert Student.objects.filter(id_number=a).exists()


def test_two_row_merged_header(county, files):
    header = ["序号", "学校标识码", "学校名称", "年级", "班级", "姓名", "性别", "出生日期", "身份证件号",
              "姓名", "联系电话"]
    group = ["序号", "学校信息", "", "年级", "班级", "学生信息", "", "", "", "监护人", ""]
    header2 = ["序号", "学校标识码", "学校名称", "年级", "班级", "姓名", "性别", "出生日期", "身份证件号",
               "监护人姓名", "监护人联系电话"]
    a = new_id(3)
    row = [1, county.b_primary.code, county.b_primary.name, "四年级", "2班", "钱多多",
           "男" if int(a[16]) % 2 else "女", "", a, "钱父", "13912345678"]
    path = files.xlsx("merged.xlsx", [row], header=header, group_header=group)
    del header2
    r = run(path)
    assert r.errors == [] and r.created == 1, [e.as_dict() for e in r.errors]
    s = Student.objects.get(id_number=a)
    assert (s.school, s.grade, s.guardian_name, s.guardian_phone) == (county.b_primary, 4, "钱父", "13912345678")


def test_reimport_same_file_is_a_visible_noop(county, files):
    path = files.roster("r.xlsx", [roster_row(1, county.a_primary, id_number=new_id(1))])
    first = run(path)
    second = run(path)
    assert (second.created, second.updated, second.unchanged, second.exit_code) == (0, 0, 1, 0)
    assert second.checksum == first.checksum


def test_update_changes_only_what_the_file_says(county, files):
    s = county.s_a
    s.guardian_phone, s.address, s.is_poor = "13911112222", "旧地址", True
    s.save()
    row = roster_row(1, county.a_primary, id_number=s.id_number, name=s.name, grade="五年级",
                     监护人联系电话="", 是否建档立卡贫困户="否")
    header = [h for h in ROSTER_HEADER if h != "现住址"]
    row = [v for h, v in zip(ROSTER_HEADER, row, strict=True) if h != "现住址"]
    path = files.xlsx("u.xlsx", [row], header=header)
    r = run(path)
    assert (r.created, r.updated, r.unchanged) == (0, 1, 0)
    s.refresh_from_db()
    assert s.grade == 5  # the file decides
    assert s.guardian_phone == "13911112222"  # a blank cell keeps what is stored
    assert s.address == "旧地址"  # a column the file lacks is left alone
    assert s.is_poor is True  # support flags are only ever set by a roster
    assert s.history.filter(history_type="~", history_change_reason="import").count() == 1


def test_student_at_another_county_school_is_moved_and_reported(county, files):
    s = county.s_b  # at 乙镇西湖小学
    path = files.roster("r.xlsx", [roster_row(1, county.a_primary, id_number=s.id_number, name=s.name,
                                              grade="四年级")])
    r = run(path)
    assert (r.updated, r.extra["moved"]) == (1, 1)
    s.refresh_from_db()
    assert s.school == county.a_primary and s.status == "enrolled"
    change = StatusChange.objects.get(student=s)
    assert (change.kind, change.from_school, change.to_school, change.source) == (
        "transfer_out", county.b_primary, county.a_primary, "import")


def test_missing_students_are_reported_never_deleted(county, files):
    path = files.roster("r.xlsx", [roster_row(1, county.a_primary, id_number=new_id(1))])
    r = run(path)
    assert r.extra["missing"] == 1  # county.s_a is at 东岗小学 and not in the file
    sample = r.extra["missing_sample"][0]
    assert sample["name"] == county.s_a.name and "*" in sample["id_number"]
    assert Student.objects.filter(pk=county.s_a.pk).exists()


def test_rows_outside_the_importers_scope_are_rejected(county, files):
    a, b, c = new_id(1), new_id(2), new_id(3)
    path = files.roster("r.xlsx", [roster_row(1, county.a_primary, id_number=a),
                                   roster_row(2, county.b_primary, id_number=b),
                                   roster_row(3, county.direct, id_number=c)])
    school = run(path, user=county.school_a)
    assert codes(school) == {5: "school_unknown", 6: "school_unknown"}
    township = run(path, user=county.township_a)
    assert codes(township) == {5: "school_unknown", 6: "school_unknown"}  # 乙镇, county-direct
    assert "管辖范围" in township.errors[0].message("zh")
    assert not Student.objects.filter(id_number__in=[a, b, c]).exists()
    ok = run(path, user=county.township_a, skip_invalid=True)
    assert ok.created == 1 and Student.objects.filter(id_number=a).exists()
    assert not Student.objects.filter(id_number__in=[b, c]).exists()


def test_school_matched_by_name_when_code_is_missing(county, files):
    a = new_id(1)
    row = roster_row(1, county.a_primary, id_number=a, 学校标识码="")
    row[2] = " " + county.a_primary.name.replace("东岗", "东岗 ") + " "  # spaces normalised away
    r = run(files.roster("r.xlsx", [row]))
    assert r.errors == [] and Student.objects.get(id_number=a).school == county.a_primary


def test_english_messages_under_language_en(county, files, settings):
    from django.utils import translation

    with translation.override("en"):
        r = run(files.roster("r.xlsx", [roster_row(1, county.a_primary, id_number=new_id(1), grade="x")]))
    assert r.errors[0].message("en").startswith("Unknown grade")
    assert r.as_json("en")["errors"][0]["message"].startswith("Unknown grade")
