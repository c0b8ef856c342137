"""The import template's 填写说明 sheet has one example row; the error workbook's sheet is named
after the kind and every cell of a rejected row is tinted (issue 18 §5)."""

from __future__ import annotations

import io

import openpyxl
import pytest
from django.urls import reverse

from kongchuo.access.idnumbers import validate_id
from kongchuo.imports.base import all_kinds
from kongchuo.portal.xlsxout import ERROR_TINT
from tests.imports.conftest import ROSTER_HEADER, new_id, roster_row
from tests.imports.test_views import job_of, upload

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("slug", [k.slug for k in all_kinds()])
def test_every_template_explains_itself_with_one_example_row(county, client_as, slug):
    response = client_as(county.county_user).get(reverse("imports:template", args=[slug]))
    wb = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    header = [c.value for c in next(wb.worksheets[0].iter_rows())]
    notes = list(wb["填写说明"].iter_rows(values_only=True))
    at = next(i for i, r in enumerate(notes) if r[0] and str(r[0]).startswith("示例"))
    labels, example = notes[at + 1], notes[at + 2]
    assert list(labels[:len(header)]) == header
    assert any(v for v in example), "the example row is empty"
    for label, value in zip(header, example, strict=False):
        if label.startswith("身份证件号") and value:
            validate_id(value)  # a real ID: the example imports as shown


def test_error_workbook_sheet_is_the_kind_and_the_bad_row_is_tinted(county, client_as, files):
    path = files.roster("r.xlsx", [roster_row(1, county.a_primary, id_number=new_id(1)),
                                   roster_row(2, county.a_primary, id_number=new_id(2), grade="十年级")])
    client = client_as(county.school_a)
    job = job_of(upload(client, "roster", path))
    response = client.get(reverse("imports:errors", args=[job.pk]))
    ws = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    assert ws.title == "学生学籍名册"
    tint = ERROR_TINT.lstrip("#").upper()
    width = len(ROSTER_HEADER)
    all_rows = list(ws.iter_rows())
    start = next(i for i, r in enumerate(all_rows) if r[0].value == ROSTER_HEADER[0]) + 1
    rows = all_rows[start:]
    bad = [r for r in rows if r[width].value]
    good = [r for r in rows if not r[width].value]
    assert len(bad) == 1 and len(good) == 1
    assert all(c.fill.fgColor.rgb.endswith(tint) for c in bad[0][:width])
    assert not any(c.fill.fgColor.rgb.endswith(tint) for c in good[0][:width])
