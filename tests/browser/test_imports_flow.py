"""The import flow in a real browser (Playwright + Debian Chromium) against the live server.

A school clerk opens 数据导入 → 学生学籍名册, downloads the template, uploads a roster with one
bad row, reads the preview (counts, the error), imports the valid rows (跳过错误行导入),
downloads the error workbook, fixes the red row, uploads it again and confirms: the fixed child
goes in. Screenshots land in docs/screenshots/import_*.png.
"""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest

from students.models import Student
from tests.browser.pages import login, shot
from tests.imports.conftest import ROSTER_HEADER, new_id, roster_row, write_xlsx

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _shot(page, name: str) -> None:
    shot(page, f"import_{name}")


def _saved(download, path: Path) -> Path:
    download.save_as(str(path))
    return path


def test_upload_preview_confirm_and_fix_the_red_rows(browser, live_server, county, tmp_path):
    good, bad = new_id(1), new_id(2)
    rows = [roster_row(i + 1, county.a_primary, id_number=new_id(10 + i), name=f"学生{i}") for i in range(3)]
    rows += [roster_row(4, county.a_primary, id_number=good, name="王小明"),
             roster_row(5, county.a_primary, id_number=bad, name="李小红", grade="十年级")]
    upload = write_xlsx(tmp_path / "甲镇东岗小学名册.xlsx", rows, header=ROSTER_HEADER,
                        footer=["合计", "", "", "", "", "5人"])
    page = login(browser, live_server, county.school_a.username)

    page.click(".sidebar >> text=导入数据")
    page.click(".import-kinds >> text=学生学籍名册")
    with page.expect_download() as template:
        page.click("text=下载模板")
    header = [c.value for c in next(openpyxl.load_workbook(_saved(template.value, tmp_path / "template.xlsx")).active.iter_rows())]
    assert header[:3] == ["学校标识码", "学校名称", "年级"]
    _shot(page, "kind")

    page.set_input_files("#id_file", str(upload))
    page.click("#import-upload-button")
    page.wait_for_selector("#import-job")
    assert page.inner_text('[data-count="rows"]') == "5"
    assert page.inner_text('[data-count="created"]') == "4"
    assert page.inner_text('[data-count="rejected"]') == "1"
    # The clerk reads the message; the code stays on the row (and in the job's JSON).
    assert page.locator('.import-errors tr[data-code="grade_unknown"]').count() == 1
    assert "grade_unknown" not in page.inner_text(".import-errors")
    assert page.locator("#import-confirm").count() == 0  # errors: no all-or-nothing write
    _shot(page, "preview")
    assert not Student.objects.filter(id_number=good).exists()

    page.click("#import-skip-invalid")
    page.wait_for_selector("text=已导入。")
    assert Student.objects.filter(id_number=good).exists()
    assert not Student.objects.filter(id_number=bad).exists()
    _shot(page, "written")

    with page.expect_download() as errors:
        page.click("#import-error-workbook")
    wb = openpyxl.load_workbook(_saved(errors.value, tmp_path / "errors.xlsx"))
    ws = wb.active
    for row in ws.iter_rows():
        if row[len(ROSTER_HEADER)].value and row[0].value != ROSTER_HEADER[0]:
            row[ROSTER_HEADER.index("年级")].value = "三年级"
    fixed = tmp_path / "改正后.xlsx"
    wb.save(fixed)

    page.click("#import-reupload")
    page.set_input_files("#id_file", str(fixed))
    page.click("#import-upload-button")
    page.wait_for_selector("#import-confirm")
    assert page.inner_text('[data-count="created"]') == "1"
    assert page.inner_text('[data-count="unchanged"]') == "4"
    page.click("#import-confirm")
    page.wait_for_selector("text=已导入。")
    assert Student.objects.get(id_number=bad).grade == 3

    page.click(".sidebar >> text=导入记录")
    page.wait_for_selector(".import-jobs")
    assert page.locator(".import-jobs tbody tr").count() == 2
    _shot(page, "history")
    page.context.close()
