"""The two workbooks an import page offers: the empty template and the error workbook."""

from __future__ import annotations

from collections import defaultdict
from typing import IO, Any

import xlsxwriter

from kongchuo.imports.base import ImportKind, get_kind
from kongchuo.imports.runner import issues_from_job
from kongchuo.models import Job
from kongchuo.tabular import find_header, read_rows
from kongchuo.xlsxout import FONT, escape_formula, write_error_workbook


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
    wb.close()


def error_workbook_write(job: Job, out: str | IO[bytes], lang: str = "zh") -> int:
    """The upload as read plus a red 错误原因 column on the rejected rows; returns how many.

    Rebuilt from the kept upload and the errors stored on the job, so the import itself never
    pays for writing a 200,000-row workbook. The user fixes the red rows and uploads the file
    again: rows already imported come back as 未变, the fixed ones go in.
    """
    kind = get_kind((job.params or {}).get("kind", ""))
    if kind is None or not job.file:
        raise FileNotFoundError("no upload kept for this import")
    rows = read_rows(job.file.path)
    header = find_header(rows, kind.columns())
    messages: dict[int, list[str]] = defaultdict(list)
    for issue in issues_from_job(job):
        messages[issue.row].append(f"【{issue.column}】{issue.message(lang)}")
    last = header.last_header_row
    head = [list(values) for _n, values in header.leading_rows]
    data = ((n, values) for n, values in rows if n > last and not _blank(values))
    write_error_workbook(out, head, data, messages)
    return len(messages)


def _blank(values: list[Any]) -> bool:
    return all(v is None or (isinstance(v, str) and not v.strip()) for v in values)


def error_workbook_file(job: Job, lang: str = "zh") -> str:
    """Path of the job's error workbook, built once from the kept upload and kept next to it in
    the media storage, so a 200,000-row workbook is written at most once per language and phase.
    Downloading it (a GET) writes no database row: the file's name is derived from the job."""
    import os
    import tempfile

    from django.core.files import File
    from django.core.files.storage import default_storage

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
