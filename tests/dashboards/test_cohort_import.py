"""Importing grade-1 intake counts (the base of the cohort 巩固率)."""

from __future__ import annotations

import pytest
import xlsxwriter
from django.urls import reverse

from dashboards.models import CohortIntake
from dashboards.services import IntakeImportError, cohort_intakes_import

pytestmark = pytest.mark.django_db


def _xlsx(path, rows):
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet()
    ws.write_row(0, 0, ["霍邱县义务教育入学队列人数"])
    ws.write_row(1, 0, ["学校标识码", "学校名称", "入学年份", "一年级入学人数", "系统外转出", "备注"])
    for i, row in enumerate(rows, start=2):
        for j, value in enumerate(row):
            ws.write_string(i, j, value) if isinstance(value, str) else ws.write(i, j, value)
    wb.close()
    return path


def test_import_upserts_on_year_and_school(hand, tmp_path):
    path = _xlsx(tmp_path / "c.xlsx", [
        [hand.a_primary.code, "东岗小学", 2018, 12, 2, "更正"],  # replaces the fixture's 10
        [hand.a_center.code, "中心学校", 2019, 30, "", ""],
    ])
    result = cohort_intakes_import(user=hand.county_user, path=path, filename="c.xlsx")
    assert result.ok and (result.created, result.updated) == (1, 1)
    row = CohortIntake.objects.get(year=2018, school=hand.a_primary)
    assert (row.grade1_count, row.transfers_out, row.note, row.source) == (12, 2, "更正", "import")
    assert CohortIntake.objects.get(year=2019, school=hand.a_center).grade1_count == 30


def test_import_is_all_or_nothing(hand, tmp_path):
    path = _xlsx(tmp_path / "bad.xlsx", [
        [hand.a_center.code, "", 2019, 30, "", ""],
        ["9999999999", "", 2019, 5, "", ""],
        [hand.b_center.code, "", 2019, -3, "", ""],
        [hand.b_center.code, "", 1990, 3, "", ""],
    ])
    result = cohort_intakes_import(user=hand.county_user, path=path)
    assert not result.ok
    assert [e[0] for e in result.errors] == [4, 5, 6]
    assert not CohortIntake.objects.filter(year=2019).exists()


def test_import_refuses_counts_that_are_not_numbers(hand, tmp_path):
    """A count reading nan or inf is value_invalid like a negative one (it used to escape the
    cell parser as a ValueError / OverflowError)."""
    path = _xlsx(tmp_path / "nan.xlsx", [[hand.a_center.code, "", 2019, "nan", "inf", ""]])
    result = cohort_intakes_import(user=hand.county_user, path=path)
    assert [e[:2] for e in result.errors] == [(3, "一年级入学人数"), (3, "系统外转出")]
    assert not CohortIntake.objects.filter(year=2019).exists()


def test_import_csv_gb18030(hand, tmp_path):
    path = tmp_path / "c.csv"
    path.write_bytes(f"入学年份,学校标识码,一年级入学人数\n2020,{hand.b_primary.code},7\n".encode("gb18030"))
    result = cohort_intakes_import(user=hand.county_user, path=path)
    assert result.ok and result.created == 1


def test_import_refuses_other_files(hand, tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("姓名,性别\n张三,男\n", encoding="utf-8")
    with pytest.raises(IntakeImportError):
        cohort_intakes_import(user=hand.county_user, path=path)


def test_import_only_county(hand, tmp_path):
    path = _xlsx(tmp_path / "c.xlsx", [[hand.a_center.code, "", 2019, 30, "", ""]])
    with pytest.raises(PermissionError):
        cohort_intakes_import(user=hand.township_a, path=path)


def test_upload_view_and_figure_follow(hand, client_as, tmp_path):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client = client_as(hand.county_user)
    path = _xlsx(tmp_path / "c.xlsx", [[hand.a_primary.code, "", 2018, 20, 1, ""]])
    before = client.get(reverse("home")).context["dash"]["overall"]["f"]["intake"]["v"]
    response = client.post(reverse("dashboards:cohorts"),
                           {"file": SimpleUploadedFile("c.xlsx", path.read_bytes())})
    assert response.status_code == 302
    after = client.get(reverse("home")).context["dash"]["overall"]["f"]["intake"]["v"]
    assert (before, after) == (15, 25)  # cached dashboard invalidated by the import
