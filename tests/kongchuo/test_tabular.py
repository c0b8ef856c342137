"""kongchuo.imports (cells, tabular): safe reading, header detection, records, normalisers.

Every workbook is built here with openpyxl / XlsxWriter / zipfile, shaped like the files
county staff bring (title rows, merged two-row headers, 合计 footers, IDs typed as numbers).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import zipfile
from pathlib import Path

import openpyxl
import pytest

from kongchuo.imports.cells import (
    MESSAGES,
    CellError,
    TabularError,
    code_text,
    file_sha256,
    parse_bool,
    parse_date,
    parse_grade,
    parse_id,
    parse_sex,
    parse_text,
    parse_year_month,
)
from kongchuo.imports.filesafety import sniff_upload
from kongchuo.imports.reader import read_rows
from kongchuo.imports.tabular import Column, find_header, iter_records

VALID_ID = "34152220170716550X"
VALID_ID2 = "341522201702144793"
SAMPLES = Path(__file__).resolve().parents[1] / "samples"  # copies of shared/samples

ROSTER_SPEC = [
    Column("id_number", ["身份证件号", "身份证号", "公民身份号码", "证件号码", "身份证号码"], required=True),
    Column("name", ["姓名", "学生姓名"], required=True),
    Column("sex", ["性别"]),
    Column("birth_date", ["出生日期"]),
    Column("grade", ["年级"]),
    Column("guardian_name", ["监护人姓名"]),
    Column("guardian_phone", ["监护人联系电话", "监护人电话"]),
]


def save(wb: openpyxl.Workbook, path: Path) -> Path:
    wb.save(path)
    return path


def sheet_file(tmp_path: Path, rows: list[list], name: str = "t.xlsx", merges: tuple[str, ...] = (),
               start_row: int = 1, start_col: int = 1) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    for r, values in enumerate(rows, start=start_row):
        for c, value in enumerate(values, start=start_col):
            if value is not None:
                ws.cell(row=r, column=c, value=value)
    for rng in merges:
        ws.merge_cells(rng)
    return save(wb, tmp_path / name)


def records(path: Path, spec=ROSTER_SPEC):
    rows = read_rows(path, sniff_upload(path))
    header = find_header(rows, spec)
    return header, list(iter_records(rows, header))


def rewrite_zip(src: Path, dst: Path, change) -> Path:
    """Copy an xlsx, passing each member's bytes through change(name, data)."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = change(info.filename, zin.read(info.filename))
            if data is not None:
                zout.writestr(info.filename, data)
    return dst


# --------------------------------------------------------------------------- headers & records


def test_title_rows_and_two_row_merged_header(tmp_path):
    rows = [
        ["霍邱县2023年秋季学期义务教育学生名册"],
        ["填报单位：霍邱县城关镇中心学校    导出日期：2023-10-08"],
        ["序号", "学生信息", None, None, "监护人", None, "年级"],
        [None, "姓名", "身份证件号", "性别", "姓名", "联系电话", None],
        [1, "丁语芳", VALID_ID, "女", "钟玉", "15944537709", "一年级"],
        [2, "田燕", VALID_ID2, "男", "覃轩子", "19154101668", "二年级"],
    ]
    path = sheet_file(tmp_path, rows, merges=("A1:G1", "A2:G2", "B3:D3", "E3:F3", "A3:A4", "G3:G4"))
    header, recs = records(path, ROSTER_SPEC + [Column("serial", ["序号"])])
    assert header.header_rows == (3, 4)
    assert header.columns == {"serial": 0, "name": 1, "id_number": 2, "sex": 3, "guardian_name": 4,
                              "guardian_phone": 5, "grade": 6}
    assert [r.row for r in recs] == [5, 6]
    assert recs[0].values["guardian_name"] == "钟玉" and recs[0].values["name"] == "丁语芳"
    assert [row for row, _v in header.leading_rows] == [1, 2, 3, 4]


def test_group_label_falls_back_to_plain_label(tmp_path):
    """"学生信息 / 姓名" is the student's name; only a known group+label pair wins over it."""
    rows = [["学生信息", None, "家长"], ["姓名", "身份证号码", "电话"], ["张三", VALID_ID, "1"]]
    path = sheet_file(tmp_path, rows, merges=("A1:B1",))
    header, recs = records(path)
    assert header.last_header_row == 2  # the group row adds no label, so either reading is right
    assert header.columns == {"name": 0, "id_number": 1}
    assert [r.row for r in recs] == [3]
    assert header.unknown == [(2, "电话")]


def test_synonyms_and_decorated_labels(tmp_path):
    rows = [["*公民身份号码", "学生 姓名（必填）", "性\u3000别", "出生日期(yyyy-mm-dd)", "备注"],
            [VALID_ID, "张三", "男", "2017-07-16", ""]]
    header, recs = records(sheet_file(tmp_path, rows))
    assert header.columns == {"id_number": 0, "name": 1, "sex": 2, "birth_date": 3}
    assert header.labels["id_number"] == "*公民身份号码"
    assert header.unknown == [(4, "备注")]
    assert set(header.missing) == {"grade", "guardian_name", "guardian_phone"}
    assert recs[0].values["id_number"] == VALID_ID


def test_column_order_does_not_matter(tmp_path):
    a = sheet_file(tmp_path, [["姓名", "身份证号", "年级"], ["张三", VALID_ID, "三年级"]], "a.xlsx")
    b = sheet_file(tmp_path, [["年级", "身份证号", "姓名"], ["三年级", VALID_ID, "张三"]], "b.xlsx")
    assert records(a)[1][0].values == records(b)[1][0].values


def test_blank_rows_footers_and_signature_lines(tmp_path):
    rows = [
        ["学生名册"],
        ["姓名", "身份证件号"],
        ["张三", VALID_ID],
        [None, None],
        ["\u3000", " "],
        ["李四", VALID_ID2],
        ["Tom", VALID_ID2],  # ASCII text first: data, whatever it spells
        ["王小计", VALID_ID],  # a footer word inside a name: data
        ["\u3000合计", "2人"],
        ["\u2f29计：2"],  # 小计 with the Kangxi radical ⼩, which NFKC makes 小
        ["（必填）总计"],
        ["填表人：王五", None],
        ["赵六", VALID_ID],  # below the signature line: not data
    ]
    _header, recs = records(sheet_file(tmp_path, rows))
    assert [(r.row, r.values["name"]) for r in recs] == [(3, "张三"), (6, "李四"), (7, "Tom"), (8, "王小计")]


def test_leading_blank_rows_keep_excel_numbers(tmp_path):
    """calamine skips leading empty rows and columns; we must not (row 4 is row 4)."""
    rows = [["姓名", "身份证件号"], ["张三", VALID_ID], [None, None], ["李四", VALID_ID2]]
    path = sheet_file(tmp_path, rows, start_row=4, start_col=3)
    data = list(read_rows(path))
    assert data[0] == (1, ["", "", "", ""])
    assert data[3] == (4, ["", "", "姓名", "身份证件号"])
    header, recs = records(path)
    assert header.header_rows == (4,) and header.columns == {"name": 2, "id_number": 3}
    assert [r.row for r in recs] == [5, 7]


def test_header_missing_names_the_missing_labels(tmp_path):
    path = sheet_file(tmp_path, [["学校名称", "学校标识码", "姓名"], ["一小", "2134150300", "x"]])
    with pytest.raises(TabularError) as exc:
        records(path)
    assert exc.value.code == "header_missing"
    assert "身份证件号" in exc.value.message("zh") and "姓名" not in exc.value.message("zh")
    assert "Required columns not found" in exc.value.message("en")


def test_wrong_kind_of_file_is_header_missing(tmp_path):
    path = sheet_file(tmp_path, [["说明"], ["这是一份通知"]])
    with pytest.raises(TabularError) as exc:
        records(path)
    assert exc.value.code == "header_missing"


def test_rows_are_reiterable_and_types_are_raw(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["姓名", "身份证件号", "出生日期", "在校"])
    ws.append(["张三", 341522201707165500, dt.date(2017, 7, 16), True])
    path = save(wb, tmp_path / "types.xlsx")
    rows = read_rows(path, "xlsx")
    assert list(rows) == list(rows)
    _n, values = list(rows)[1]
    assert isinstance(values[1], float) and values[2] == dt.date(2017, 7, 16) and values[3] is True


def test_hidden_first_sheet_is_skipped_and_sheet_by_name(tmp_path):
    wb = openpyxl.Workbook()
    hidden = wb.active
    hidden.title = "填表说明"
    hidden.append(["隐藏"])
    hidden.sheet_state = "hidden"
    data = wb.create_sheet("名册")
    data.append(["姓名", "身份证件号"])
    other = wb.create_sheet("其他")
    other.append(["别的"])
    path = save(wb, tmp_path / "sheets.xlsx")
    rows = read_rows(path)
    assert rows.sheet_name == "名册" and list(rows)[0][1] == ["姓名", "身份证件号"]
    assert list(read_rows(path, sheet="其他"))[0][1] == ["别的"]
    with pytest.raises(TabularError) as exc:
        read_rows(path, sheet="没有")
    assert exc.value.code == "sheet_not_found"


# --------------------------------------------------------------------------- CSV


@pytest.mark.parametrize("encoding", ["utf-8-sig", "gb18030", "utf-8"])
def test_csv_encodings(tmp_path, encoding):
    text = "学生名册\r\n姓名,身份证号,备注\r\n张三,34152220170716550X,\"多行\n备注\"\r\n,,\r\n李四,341522201702144793,\r\n"
    path = tmp_path / "r.xlsx"  # the name lies; content decides
    path.write_bytes(text.encode(encoding))
    assert sniff_upload(path) == "csv"
    header, recs = records(path)
    assert header.header_rows == (2,)
    assert [(r.row, r.values["name"]) for r in recs] == [(3, "张三"), (5, "李四")]


def test_csv_row_cap_counts_while_reading(tmp_path):
    path = tmp_path / "many.csv"
    path.write_text("姓名\n" + "张三\n" * 50, encoding="utf-8")
    with pytest.raises(TabularError) as exc:
        list(read_rows(path, max_rows=20))
    assert exc.value.code == "too_many_rows"


# --------------------------------------------------------------------------- normalisers


@pytest.mark.parametrize("value", [
    dt.date(2012, 5, 6), dt.datetime(2012, 5, 6, 8, 30), 41035.0, 41035, "2012-05-06", "2012/5/6",
    "20120506", 20120506.0, "2012年5月6日", "2012.05.06", "2012-5-6 00:00:00", " ２０１２-０５-０６ ",
])
def test_parse_date(value):
    assert parse_date(value) == dt.date(2012, 5, 6)


@pytest.mark.parametrize("value", ["2012-02-30", "abc", "12/5/6", 0.0, -3.0, 99999999.0, True,
                                   dt.time(1, 2), "1850-01-01", float("nan")])
def test_parse_date_invalid(value):
    with pytest.raises(CellError) as exc:
        parse_date(value)
    assert exc.value.code == "value_invalid"


def test_parse_date_blank_and_required():
    assert parse_date("") is None and parse_date(None) is None and parse_date("\u3000") is None
    with pytest.raises(CellError) as exc:
        parse_date(" ", required=True)
    assert exc.value.code == "required_missing"


def test_excel_serial_edges():
    assert parse_date(1.0) == dt.date(1900, 1, 1)
    assert parse_date(61.0) == dt.date(1900, 3, 1)
    assert parse_date(73415.0) == dt.date(2100, 12, 31)
    with pytest.raises(CellError):
        parse_date(60.0)  # 1900-02-29 never existed


@pytest.mark.parametrize("value", ["2019-09", "201909", "2019年9月", "2019.9", "2019/09", "2019-09-01",
                                   "2019年9月1日", dt.date(2019, 9, 15), dt.datetime(2019, 9, 1),
                                   201909.0, 201909, 2019.09, 2019.9, 43709.0, "20190901"])
def test_parse_year_month(value):
    assert parse_year_month(value) == (2019, 9)


def test_parse_year_month_october_and_ambiguity():
    assert parse_year_month("2019.10") == (2019, 10)
    assert parse_year_month("2019.1") == (2019, 1)
    with pytest.raises(CellError):
        parse_year_month(2019.1)  # a number cannot say whether 2019.10 was meant


@pytest.mark.parametrize("value", ["2019-13", "abc", "19-09", True, "2019-091"])
def test_parse_year_month_invalid(value):
    with pytest.raises(CellError) as exc:
        parse_year_month(value)
    assert exc.value.code == "value_invalid"


@pytest.mark.parametrize(("value", "grade"), [
    ("一年级", 1), ("二年级", 2), ("六年级", 6), ("七年级", 7), ("八年级", 8), ("九年级", 9),
    ("初一", 7), ("初二", 8), ("初三", 9), ("初中一年级", 7), ("小学三年级", 3), ("1", 1), ("9", 9),
    (1.0, 1), (9, 9), ("一", 1), ("3年级", 3), (" 五 年级 ", 5), ("１", 1),
])
def test_parse_grade(value, grade):
    assert parse_grade(value) == grade


@pytest.mark.parametrize("value", ["高一", "十年级", "0", "10", 10.0, 1.5, "初四", "学前班", True, "一二"])
def test_parse_grade_unknown(value):
    with pytest.raises(CellError) as exc:
        parse_grade(value)
    assert exc.value.code == "grade_unknown"


@pytest.mark.parametrize(("value", "expected"), [
    ("是", True), ("否", False), ("√", True), ("✓", True), ("×", False), ("✗", False), ("Y", True),
    ("N", False), ("y", True), ("n", False), ("1", True), ("0", False), (1, True), (0, False),
    (1.0, True), (0.0, False), (True, True), (False, False), ("TRUE", True), ("", False), (None, False),
    ("\u3000", False),
])
def test_parse_bool(value, expected):
    assert parse_bool(value) is expected


@pytest.mark.parametrize("value", ["也许", "2", 2.0, "x"])
def test_parse_bool_invalid(value):
    with pytest.raises(CellError) as exc:
        parse_bool(value)
    assert exc.value.code == "value_invalid"


@pytest.mark.parametrize(("value", "expected"), [
    ("男", "M"), ("女", "F"), ("M", "M"), ("f", "F"), ("1", "M"), ("2", "F"), (1.0, "M"), (2, "F"),
    (" 女 ", "F"), ("男性", "M"),
])
def test_parse_sex(value, expected):
    assert parse_sex(value) == expected


def test_parse_sex_invalid_and_blank():
    assert parse_sex("") is None
    with pytest.raises(CellError):
        parse_sex("未知")
    with pytest.raises(CellError) as exc:
        parse_sex(None, required=True)
    assert exc.value.code == "required_missing"


@pytest.mark.parametrize(("value", "expected"), [
    (13800000000.0, "13800000000"), (12, "12"), (1.5, "1.5"), ("  张三 ", "张三"), ("张\u3000三", "张 三"),
    ("ＡＢＣ１２３", "ABC123"), ("'0551", "0551"), ("'=1+1", "=1+1"), (None, ""), (True, "是"),
    (dt.date(2024, 3, 1), "2024-03-01"), ("\ufeff张三\u200b", "张三"),
])
def test_parse_text(value, expected):
    assert parse_text(value) == expected


def test_parse_text_required_and_length():
    with pytest.raises(CellError) as exc:
        parse_text("  ", required=True)
    assert exc.value.code == "required_missing"
    with pytest.raises(CellError) as exc:
        parse_text("一二三四", max_length=3)
    assert exc.value.code == "value_invalid"


@pytest.mark.parametrize("value", [
    VALID_ID, "34152220170716550x", "３４１５２２２０１７０７１６５５０Ｘ", "341522\u300020170716550X",
    "'34152220170716550X", " 34152220170716550X\t",
])
def test_parse_id_normalises(value):
    assert parse_id(value) == VALID_ID


@pytest.mark.parametrize(("value", "code"), [
    (3.415222010022105e17, "id_numeric"), (341522201707165500, "id_numeric"), ("3.41522E+17", "id_numeric"),
    ("3415222016050301", "id_format"), ("341522201502120807", "id_checksum"),
    ("341522201302300000", "id_birthdate"), ("", "required_missing"), (None, "required_missing"),
])
def test_parse_id_errors(value, code):
    with pytest.raises(CellError) as exc:
        parse_id(value)
    assert exc.value.code == code
    assert exc.value.message("zh") == MESSAGES[code] or exc.value.message("zh").startswith(MESSAGES[code])


def test_id_numeric_message_says_format_as_text():
    with pytest.raises(CellError) as exc:
        parse_id(3.415222010022105e17)
    assert '将该列设置为"文本"格式后重新填写' in exc.value.message("zh")
    assert "Text" in exc.value.message("en")


def test_parse_id_optional_blank():
    assert parse_id("", required=False) is None


# --------------------------------------------------------------------------- messages & misc

ISSUE_CODES = ["required_missing", "id_format", "id_numeric", "id_checksum", "id_birthdate", "birth_mismatch",
               "gender_mismatch", "grade_unknown", "school_unknown", "student_unknown", "duplicate_in_file",
               "value_invalid"]


def test_messages_cover_every_code():
    for code in ISSUE_CODES + ["file_empty", "file_too_large", "file_unsafe", "file_type", "file_encrypted",
                               "too_many_rows", "header_missing", "sheet_not_found"]:
        zh, en = MESSAGES[code], code_text(code).render("en")
        assert zh and en and re.search(r"[\u4e00-\u9fff]", zh) and en.isascii()
        assert code_text(code).render("zh") == zh or "%(" in zh
    assert code_text("too_many_rows", limit=10).render("en") == "More than 10 rows: split the file and upload in parts"
    assert code_text("no_such_code").render("zh") == MESSAGES["value_invalid"]


def test_errors_carry_both_languages():
    err = TabularError("file_type")
    assert str(err) == MESSAGES["file_type"]
    assert err.message("en") == "Unsupported or damaged file: upload an .xlsx, .xls or .csv file"
    custom = CellError("school_unknown", "学校“x”不存在")
    assert custom.message("zh") == "学校“x”不存在" and custom.code == "school_unknown"


def test_file_sha256(tmp_path):
    path = tmp_path / "f.bin"
    data = b"kongchuo" * 300_000
    path.write_bytes(data)
    assert file_sha256(path) == hashlib.sha256(data).hexdigest()


# --------------------------------------------------------------------------- the shared samples


def test_sample_roster_cell_level_rejections():
    expected = json.loads((SAMPLES / "expected.json").read_text())["roster"]["rejected"]
    spec = ROSTER_SPEC + [Column("school_code", ["学校标识码"]), Column("enrolled", ["入学年月"])]
    rows = read_rows(SAMPLES / "roster.xlsx", sniff_upload(SAMPLES / "roster.xlsx"))
    header = find_header(rows, spec)
    assert header.header_rows == (3,)
    found = {}
    recs = list(iter_records(rows, header))
    for rec in recs:
        try:
            parse_id(rec.values["id_number"])
            parse_text(rec.values["name"], required=True)
            parse_grade(rec.values["grade"], required=True)
            parse_date(rec.values["birth_date"], required=True)
            parse_sex(rec.values["sex"], required=True)
            parse_year_month(rec.values["enrolled"])
            parse_bool("否")
        except CellError as exc:
            found[str(rec.row)] = exc.code
    cell_level = {row: code for row, code in expected.items()
                  if code in ("id_numeric", "id_checksum", "id_format", "grade_unknown", "required_missing")}
    assert found == cell_level
    assert recs[-1].row == 274  # the 合计 line at 275 is not a student
