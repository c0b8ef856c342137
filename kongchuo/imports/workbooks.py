"""The two workbooks an import page offers: the empty template and the error workbook."""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from collections import defaultdict
from typing import IO, Any

import xlsxwriter
from django.core.files import File
from django.core.files.storage import default_storage

from kongchuo.access.idnumbers import make_id
from kongchuo.imports.base import Field, ImportKind
from kongchuo.imports.pipeline import issues_from_job, job_kind
from kongchuo.imports.reader import read_rows
from kongchuo.imports.tabular import find_header
from kongchuo.models import Job
from kongchuo.portal.xlsxout import FONT, escape_formula, write_error_workbook


def template_write(kind: ImportKind, out: str | IO[bytes]) -> None:
    """An empty template: the header row (required columns marked *), ID/code columns already
    formatted as text so a typed ID keeps all 18 characters, and a 填写说明 sheet."""
    fields = [f for f in kind.fields if f.template]
    wb = xlsxwriter.Workbook(out, {"strings_to_formulas": False, "strings_to_numbers": False,
                                   "strings_to_urls": False})
    base = {"font_name": FONT, "font_size": 11}
    head = wb.add_format({**base, "bold": True, "border": 1, "bg_color": "#F2F2F2",
                          "align": "center", "valign": "vcenter", "text_wrap": True})
    required = wb.add_format({**base, "bold": True, "border": 1, "bg_color": "#FCE4D6",
                              "align": "center", "valign": "vcenter", "text_wrap": True})
    as_text = wb.add_format({**base, "num_format": "@"})
    plain = wb.add_format(base)
    ws = wb.add_worksheet(str(kind.label)[:31] or "Sheet1")
    ws.set_row(0, 30)
    for c, f in enumerate(fields):
        ws.write_string(0, c, f.label, required if f.required else head)
        ws.set_column(c, c, max(12, min(2.2 * len(f.label) + 2, 30)), as_text if f.text else plain)
    ws.freeze_panes(1, 0)
    notes = wb.add_worksheet("填写说明")
    notes.set_column(0, 0, 24)
    notes.set_column(1, 1, 8)
    notes.set_column(2, 2, 80)
    for c, label in enumerate(("列名", "必填", "说明")):
        notes.write_string(0, c, label, head)
    for r, f in enumerate(fields, start=1):
        notes.write_string(r, 0, f.label, plain)
        notes.write_string(r, 1, "是" if f.required else "", plain)
        synonyms = "、".join(f.labels[1:])
        note = f.note + (f"（也可写作：{synonyms}）" if synonyms else "")
        notes.write_string(r, 2, escape_formula(note), plain)
    # One example row laid out like the data sheet, so the expected shape of each cell is seen.
    r = len(fields) + 2
    notes.write_string(r, 0, "示例（一行，列与模板相同）", wb.add_format({**base, "bold": True}))
    for c, f in enumerate(fields):
        notes.write_string(r + 1, c, f.label, required if f.required else head)
        notes.write_string(r + 2, c, escape_formula(example_for(f, kind.slug)), as_text)
    wb.close()


# Example values by field key, for kinds that do not give one (Field.example); a kind whose
# key means something else (a school's 名称) has its own entries.
EXAMPLES = {
    "id_number": "ID", "name": "张三", "sex": "男", "birth_date": "2015-03-07",
    "school_code": "3415220001", "school_name": "城关镇第一小学", "grade": "三年级",
    "class_name": "2班", "student_number": "GID", "id_type": "居民身份证",
    "township_code": "341522100", "township": "城关镇", "township_name": "城关镇",
    "phone": "13800000000", "guardian_name": "张大山", "guardian_phone": "13800000000",
    "hukou_address": "城关镇东关村", "address": "城关镇东关村12号", "entry_month": "2021-09",
    "reported": "是", "reported_on": "2026-09-01", "note": "", "kind": "转出",
    "effective_date": "2026-09-01", "end_date": "", "to_school": "", "to_county": "六安市裕安区",
    "reason": "随父母外出务工", "approved_by": "王校长", "disability_category": "",
    "disability_grade": "", "listed_on": "2026-03-01", "seq": "1", "problem": "疑似辍学",
    "username": "",
}
KIND_EXAMPLES = {
    "schools": {"name": "城关镇第一小学", "code": "3415220001", "kind": "小学", "is_center": "否",
                "oversight": "乡镇中心学校", "principal_name": "李明", "principal_phone": "13900000000",
                "clerk_name": "王芳", "clerk_phone": "13900000001"},
    "support": {"disability_category": "视力残疾", "disability_grade": "二级"},
    "users": {"name": "王芳"},
}


def example_for(field: Field, slug: str = "") -> str:
    if getattr(field, "example", ""):
        return field.example
    value = KIND_EXAMPLES.get(slug, {}).get(field.key, EXAMPLES.get(field.key))
    if value is None:
        value = "否" if field.key.startswith(("is_", "has_")) else ""
    # A valid ID (check digit and all), so the example row imports as shown.
    return value.replace("ID", make_id("341522", dt.date(2015, 3, 7), 1)) if "ID" in value else value


def error_workbook_write(job: Job, out: str | IO[bytes], lang: str = "zh") -> int:
    """The upload as read plus a red 错误原因 column on the rejected rows; returns how many.

    Rebuilt from the kept upload and the errors stored on the job, so the import itself never
    pays for writing a 200,000-row workbook. The user fixes the red rows and uploads the file
    again: rows already imported come back as 未变, the fixed ones go in.
    """
    kind = job_kind(job)
    if kind is None or not job.file:
        raise FileNotFoundError("no upload kept for this import")
    rows = read_rows(job.file.path)  # a workbook by a reader process, never parsed here
    header = find_header(rows, kind.columns())
    messages: dict[int, list[str]] = defaultdict(list)
    for issue in issues_from_job(job):
        messages[issue.row].append(f"【{issue.column}】{issue.message(lang)}")
    last = header.last_header_row
    head = [list(values) for _n, values in header.leading_rows]
    data = ((n, values) for n, values in rows if n > last and not _blank(values))
    write_error_workbook(out, head, data, messages, sheet_name=str(kind.label))
    return len(messages)


def _blank(values: list[Any]) -> bool:
    return all(v is None or (isinstance(v, str) and not v.strip()) for v in values)


def error_workbook_file(job: Job, lang: str = "zh") -> str:
    """Path of the job's error workbook, built once from the kept upload and kept next to it in
    the media storage, so a 200,000-row workbook is written at most once per language and phase.
    Downloading it (a GET) writes no database row: the file's name is derived from the job."""
    phase = (job.result or {}).get("phase", "")
    name = f"jobs/errors/{job.pk}-{job.checksum[:16]}-{phase}-{lang}.xlsx"
    if default_storage.exists(name):
        return default_storage.path(name)
    with tempfile.NamedTemporaryFile(suffix=".xlsx", delete=False) as tmp:
        path = tmp.name
    try:
        error_workbook_write(job, path, lang)
        with open(path, "rb") as fh:
            name = default_storage.save(name, File(fh))
    finally:
        os.unlink(path)
    return default_storage.path(name)
