"""Files for the import tests, built here (xlsxwriter/csv): title rows, merged headers, quirks.

`write_xlsx` writes each value with its own type (text stays text, numbers numbers, dates
dates) so the tests control exactly what a reader sees, e.g. an ID stored as a number.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

import pytest
import xlsxwriter

from kongchuo.access.idnumbers import make_id

ROSTER_HEADER = ["序号", "学校标识码", "学校名称", "年级", "班级", "姓名", "性别", "出生日期", "身份证件类型",
                 "身份证件号", "全国学籍号", "户口所在地", "现住址", "监护人姓名", "监护人联系电话",
                 "是否建档立卡贫困户", "是否低保", "是否特困供养", "残疾人类型", "是否留守儿童",
                 "是否进城务工人员随迁子女", "入学年月"]


def write_xlsx(path: Path, rows: list[list], *, title: str | None = "霍邱县学生名册",
               info: str | None = "导出单位：霍邱县教育局  导出日期：2024-09-10",
               header: list[str] | None = None, group_header: list[str] | None = None,
               footer: list | None = None) -> Path:
    """title / info lines (merged over the table), a header (optionally two rows with
    `group_header` above it, merged vertically where a group cell is blank), data, footer."""
    wb = xlsxwriter.Workbook(str(path), {"strings_to_numbers": False, "strings_to_formulas": False})
    ws = wb.add_worksheet("Sheet1")
    date_fmt = wb.add_format({"num_format": "yyyy-mm-dd"})
    width = max(len(header or []), max((len(r) for r in rows if r), default=1))
    r = 0
    for line in (title, info):
        if line is not None:
            ws.merge_range(r, 0, r, max(width - 1, 1), line)
            r += 1
    if group_header is not None:
        c = 0
        while c < len(group_header):
            label = group_header[c]
            if label and header[c]:  # a group label over several sub-columns
                end = c
                while end + 1 < len(group_header) and group_header[end + 1] == "" and header[end + 1]:
                    end += 1
                if end > c:
                    ws.merge_range(r, c, r, end, label)
                else:
                    ws.write_string(r, c, label)
                c = end + 1
            else:  # a label over both header rows
                ws.merge_range(r, c, r + 1, c, label)
                c += 1
        r += 1
        for c, label in enumerate(header):
            if label and group_header[c] != label:
                ws.write_string(r, c, label)
        r += 1
    elif header is not None:
        for c, label in enumerate(header):
            ws.write_string(r, c, label)
        r += 1
    for values in rows:
        if values is None:  # a blank row
            r += 1
            continue
        write_row(ws, r, values, date_fmt)
        r += 1
    if footer:
        write_row(ws, r, footer, date_fmt)
    wb.close()
    return path


def write_row(ws, r: int, values: list, date_fmt) -> None:
    for c, v in enumerate(values):
        if v is None or v == "":
            continue
        if isinstance(v, bool):
            ws.write_boolean(r, c, v)
        elif isinstance(v, int | float):
            ws.write_number(r, c, v)
        elif isinstance(v, dt.date):
            ws.write_datetime(r, c, v, date_fmt)
        else:
            ws.write_string(r, c, str(v))


def roster_row(n: int, school, *, id_number: str, name: str = "张三", grade="三年级", sex=None,
               birth=None, **over) -> list:
    """One roster row in ROSTER_HEADER order; sex and birth date follow the ID unless given."""
    from kongchuo.access.idnumbers import normalize_id, sex_of

    clean = normalize_id(id_number) if isinstance(id_number, str) else ""
    if len(clean) != 18 or not clean[:17].isdigit():
        clean = "341522201501010000"
    values = {
        "序号": n, "学校标识码": school.code if school else "", "学校名称": school.name if school else "",
        "年级": grade, "班级": "1班", "姓名": name,
        "性别": sex if sex is not None else ("男" if sex_of(clean) == "M" else "女"),
        "出生日期": birth if birth is not None else _birth(clean),
        "身份证件类型": "居民身份证", "身份证件号": id_number, "全国学籍号": "G" + clean,
        "户口所在地": "安徽省霍邱县甲镇张庄村", "现住址": "甲镇张庄村1号", "监护人姓名": "李四",
        "监护人联系电话": "13800000000", "是否建档立卡贫困户": "否", "是否低保": "否",
        "是否特困供养": "否", "残疾人类型": "", "是否留守儿童": "否", "是否进城务工人员随迁子女": "否",
        "入学年月": "2021-09",
    }
    values.update(over)
    return [values[h] for h in ROSTER_HEADER]


def _birth(clean: str):
    from kongchuo.access.idnumbers import birth_date_of

    try:
        return birth_date_of(clean)
    except ValueError:
        return ""


def new_id(n: int, year: int = 2015) -> str:
    """A valid ID not used by the factories (area 341522, birth in `year`)."""
    return make_id("341522", dt.date(year, 6, 1) + dt.timedelta(days=n % 200), 500 + n)


@pytest.fixture
def files(tmp_path):
    class Files:
        def xlsx(self, name, rows, **kw):
            return write_xlsx(tmp_path / name, rows, **kw)

        def roster(self, name, rows, **kw):
            kw.setdefault("header", ROSTER_HEADER)
            return write_xlsx(tmp_path / name, rows, **kw)

        def csv(self, name, text, encoding="utf-8-sig"):
            path = tmp_path / name
            path.write_bytes(text.encode(encoding))
            return path

    return Files()


@pytest.fixture(autouse=True)
def workbooks_parsed_only_by_readers(monkeypatch):
    """Every import test: calamine never parses a workbook in the importing process, only in a
    reader process (kongchuo/imports/reader.py). CSV files are read in-process."""
    from tests.workbook_files import watch_calamine_here

    seen = watch_calamine_here(monkeypatch)
    yield
    assert not seen, "calamine parsed a workbook in the importing process"


def csv_twin(path: Path) -> Path:
    """The workbook's sheet as a CSV next to it (dates as ISO text): the same rows, read and
    checked in the importing process instead of by a reader process."""
    from kongchuo.imports.reader import read_rows

    out = io.StringIO()
    writer = csv.writer(out)
    for _number, values in read_rows(path):
        writer.writerow(["" if v is None else v.isoformat() if isinstance(v, dt.date) else v for v in values])
    twin = path.with_suffix(".csv")
    twin.write_text(out.getvalue(), encoding="utf-8")
    return twin
