"""kongchuo.portal.xlsxout: formula escaping, error workbooks (round trip), official ledgers."""

from __future__ import annotations

import datetime as dt
import io
import tracemalloc

import openpyxl
import pytest

from kongchuo.imports.cells import parse_text
from kongchuo.imports.filesafety import sniff_upload
from kongchuo.imports.reader import read_rows
from kongchuo.imports.tabular import Column, find_header, iter_records
from kongchuo.portal.xlsxout import (
    ERROR_HEADER,
    LedgerColumn,
    escape_formula,
    write_error_workbook,
    write_official_ledger,
    write_simple_table,
)

VALID_ID = "34152220170716550X"


@pytest.mark.parametrize(("value", "expected"), [
    ("=1+1", "'=1+1"), ("+8613800000000", "'+8613800000000"), ("-5", "'-5"), ("@SUM(A1)", "'@SUM(A1)"),
    ("\tcmd", "'\tcmd"), ("\rx", "'\rx"), ("\0x", "'\0x"), ("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"),
    ("张三", "张三"), ("a=b", "a=b"), ("", ""), (-5, -5), (-5.5, -5.5), (0, 0), (None, None),
    (dt.date(2024, 1, 1), dt.date(2024, 1, 1)), (True, True),
])
def test_escape_formula(value, expected):
    result = escape_formula(value)
    assert result == expected and type(result) is type(expected)


def test_escaped_text_comes_back_unchanged():
    for text in ("=1+1", "-5", "+86", "@x"):
        assert parse_text(escape_formula(text)) == text


# --------------------------------------------------------------------------- error workbook

HEADER_ROWS = [
    ["霍邱县2023年秋季学期学生名册"],
    ["姓名", "身份证件号", "出生日期", "备注"],
]
DATA_ROWS = [
    (4, ["张三", VALID_ID, dt.date(2017, 7, 16), "=cmd|' /C calc'!A0"]),
    (5, ["李四", 3.415222010022105e17, dt.date(2016, 1, 2), ""]),
    (7, ["", "341522201502120807", "2016-01-02", -5]),
]
ERRORS = {5: ['身份证件号被Excel存成了数字：请将该列设置为"文本"格式后重新填写'],
          7: ["必填项为空", "身份证件号校验位错误"]}


def test_error_workbook_round_trip(tmp_path):
    path = tmp_path / "errors.xlsx"
    write_error_workbook(path, HEADER_ROWS, DATA_ROWS, ERRORS)

    rows = read_rows(path, sniff_upload(path))
    spec = [Column("id_number", ["身份证件号"], required=True), Column("name", ["姓名"], required=True),
            Column("reason", [ERROR_HEADER])]
    header = find_header(rows, spec)
    assert header.header_rows == (2,) and header.columns["reason"] == 4
    recs = list(iter_records(rows, header))
    assert [r.values["reason"] for r in recs] == ["", ERRORS[5][0], "必填项为空；身份证件号校验位错误"]
    assert recs[0].values["id_number"] == VALID_ID  # text stays text
    assert isinstance(recs[1].values["id_number"], float)  # a number stays what the user sent

    ws = openpyxl.load_workbook(path).active
    assert ws["A1"].value == "霍邱县2023年秋季学期学生名册"
    assert ws["B3"].data_type == "s" and ws["C3"].is_date
    assert ws["D3"].value == "'=cmd|' /C calc'!A0" and ws["D3"].data_type == "s"  # never a formula
    assert ws["D5"].value == -5 and ws["D5"].data_type == "n"
    assert ws["E4"].fill.fgColor.rgb.endswith("FFC7CE") and ws["E4"].font.color.rgb.endswith("C00000")
    assert ws["E3"].value is None
    assert ws.freeze_panes == "A3"


def test_error_workbook_to_file_object():
    buf = io.BytesIO()
    write_error_workbook(buf, HEADER_ROWS, DATA_ROWS[:1], {4: ["x"]})
    ws = openpyxl.load_workbook(io.BytesIO(buf.getvalue())).active
    assert ws["E3"].value == "x" and ws["E2"].value == ERROR_HEADER


# --------------------------------------------------------------------------- official ledger

COLUMNS = [
    LedgerColumn("姓名", "name", 10),
    LedgerColumn("身份证件号", "id_number", 22, group="学生信息"),
    LedgerColumn("学籍号", "student_number", 22, group="学生信息"),
    LedgerColumn("送教日期", "date", 12, group="送教情况", kind="date"),
    LedgerColumn("送教次数", "visits", 8, group="送教情况", kind="int"),
    LedgerColumn("补助金额", "money", 10, kind="money"),
    LedgerColumn("联系电话", "phone", 14),
]


def _ledger_rows(n):
    for i in range(n):
        yield {"name": f"学生{i}", "id_number": VALID_ID, "student_number": "G" + VALID_ID,
               "date": dt.date(2024, 3, 1), "visits": 2, "money": 100.5, "phone": 13800000000.0}


def test_official_ledger_layout(tmp_path):
    path = tmp_path / "ledger.xlsx"
    write_official_ledger(path, title="霍邱县XX学校2024年春季学期送教上门台账", unit="霍邱县XX学校",
                          fill_date=dt.date(2024, 3, 5), columns=COLUMNS, rows=_ledger_rows(3),
                          total_row={"visits": 6, "money": 301.5})
    ws = openpyxl.load_workbook(path).active
    merges = {str(r) for r in ws.merged_cells.ranges}
    assert merges == {"A1:H1", "A2:H2", "A3:A4", "B3:B4", "C3:D3", "E3:F3", "G3:G4", "H3:H4"}
    assert ws["A1"].value == "霍邱县XX学校2024年春季学期送教上门台账" and ws["A1"].font.b
    assert ws["A2"].value == "填报单位：霍邱县XX学校    填报日期：2024年03月05日"
    assert [ws.cell(3, c).value for c in range(1, 9)] == ["序号", "姓名", "学生信息", None, "送教情况", None,
                                                         "补助金额", "联系电话"]
    assert [ws.cell(4, c).value for c in range(3, 7)] == ["身份证件号", "学籍号", "送教日期", "送教次数"]
    assert [ws.cell(r, 1).value for r in range(5, 8)] == [1, 2, 3]
    assert ws["C5"].value == VALID_ID and ws["C5"].data_type == "s"
    assert ws["H5"].value == "13800000000" and ws["H5"].data_type == "s"
    assert ws["E5"].is_date and ws["F5"].value == 2
    assert ws["A8"].value == "合计" and ws["F8"].value == 6 and ws["G8"].value == 301.5
    footer = [v for v in next(ws.iter_rows(min_row=10, max_row=10, values_only=True)) if v]
    assert footer == ["填表人：", "审核人："]
    assert ws["C5"].font.name == "宋体" and ws["C5"].border.left.style == "thin"
    assert ws.print_title_rows == "$1:$4"
    assert ws.page_setup.orientation == "landscape" and int(ws.page_setup.paperSize) == 9
    assert ws.sheet_properties.pageSetUpPr.fitToPage
    assert ws.page_setup.fitToWidth in (None, 1) and int(ws.page_setup.fitToHeight) == 0
    assert ws.freeze_panes == "A5"
    assert ws.column_dimensions["C"].width > 20


def test_official_ledger_single_level_header(tmp_path):
    path = tmp_path / "flat.xlsx"
    cols = [LedgerColumn("姓名", "name"), LedgerColumn("身份证件号", "id_number", 22)]
    write_official_ledger(path, title="中职就读台账", unit="霍邱县教育局", fill_date="2024年09月01日",
                          columns=cols, rows=[{"name": "=x", "id_number": VALID_ID}], footer=(),
                          landscape=False)
    ws = openpyxl.load_workbook(path).active
    assert {str(r) for r in ws.merged_cells.ranges} == {"A1:C1", "A2:C2"}
    assert [c.value for c in ws[3]] == ["序号", "姓名", "身份证件号"]
    assert [c.value for c in ws[4]] == [1, "'=x", VALID_ID]
    assert ws.freeze_panes == "A4" and ws.print_title_rows == "$1:$3"
    assert ws.page_setup.orientation != "landscape"
    assert ws.max_row == 4


def test_official_ledger_reads_back_through_the_import_engine(tmp_path):
    path = tmp_path / "ledger.xlsx"
    write_official_ledger(path, title="台账", unit="X", fill_date=dt.date(2024, 1, 1), columns=COLUMNS,
                          rows=_ledger_rows(2))
    rows = read_rows(path, sniff_upload(path))
    header = find_header(rows, [Column("id_number", ["身份证件号"], required=True),
                                Column("name", ["姓名"], required=True), Column("serial", ["序号"])])
    assert header.header_rows == (3, 4)
    assert [r.values["id_number"] for r in iter_records(rows, header)] == [VALID_ID, VALID_ID]


def test_official_ledger_is_constant_memory(tmp_path):
    """Rows are streamed: Python memory stays flat however long the ledger is."""
    tracemalloc.start()
    write_official_ledger(tmp_path / "big.xlsx", title="t", unit="u", fill_date=dt.date(2024, 1, 1),
                          columns=COLUMNS, rows=_ledger_rows(2000))
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 20 * 1024 * 1024, peak
    ws = openpyxl.load_workbook(tmp_path / "big.xlsx", read_only=True).active
    assert ws.max_row == 4 + 2000 + 2


# --------------------------------------------------------------------------- plain table


def test_write_simple_table(tmp_path):
    path = tmp_path / "list.xlsx"
    write_simple_table(path, ["姓名", "身份证件号", "人数", "=危险表头"],
                       [["=SUM(A1)", 341522201707165500, 3, dt.date(2024, 1, 1)], ["-1", VALID_ID, -1, None]],
                       text_columns=[1])
    ws = openpyxl.load_workbook(path).active
    assert [c.value for c in ws[1]] == ["姓名", "身份证件号", "人数", "'=危险表头"]
    assert ws["A2"].value == "'=SUM(A1)" and ws["A3"].value == "'-1"
    assert ws["B2"].value == "341522201707165500" and ws["B2"].data_type == "s"
    assert ws["C3"].value == -1 and ws["D2"].is_date
    assert ws.freeze_panes == "A2"
