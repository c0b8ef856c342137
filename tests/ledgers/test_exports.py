"""Official-layout exports: the CLI contract, layout, scoping, masking, escaping, audit."""

from __future__ import annotations

import datetime as dt
import io

import openpyxl
import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from kongchuo.access.models import AuditEvent
from kongchuo.calendar.schoolyear import term_of, today
from ledgers.models import FamilyContact, HomeTeachingVisit
from ledgers.registry import LEDGER_NAMES

pytestmark = pytest.mark.django_db


def _export(tmp_path, name: str, scope: str, *extra: str):
    out = tmp_path / f"{name}-{scope}.xlsx"
    call_command("export_ledger", name, "--scope", scope, "--out", str(out), *extra)
    return openpyxl.load_workbook(out).active


def _rows(ws) -> list[tuple]:
    return list(ws.iter_rows(values_only=True))


def _cells(ws) -> set:
    return {v for row in ws.iter_rows(values_only=True) for v in row if v is not None}


@pytest.mark.parametrize("name", LEDGER_NAMES)
def test_every_ledger_exports_in_the_official_layout(county, entries, tmp_path, name):
    ws = _export(tmp_path, name, county.a_primary.code)
    rows = _rows(ws)
    term = term_of(today())
    assert rows[0][0].startswith(f"霍邱县{county.a_primary.name}{term.label}")
    assert rows[0][0].endswith("台账")
    assert rows[1][0].startswith(f"填报单位：{county.a_primary.name}") and "填报日期：" in rows[1][0]
    assert rows[2][0] == "序号" and rows[3][0] is None  # two-level header, 序号 merged down
    merged = {str(r) for r in ws.merged_cells.ranges}
    assert "A3:A4" in merged and any(r.startswith("A1:") for r in merged)
    assert ws.freeze_panes == "A5" and ws.print_title_rows == "$1:$4"
    assert ws.page_setup.orientation == "landscape" and int(ws.page_setup.paperSize) == 9
    labels = [r[0] for r in rows]
    assert "合计" in labels
    assert any(isinstance(v, str) and v.startswith("填表人") for row in rows for v in row)
    assert rows[4][0] == 1  # 序号 starts at 1


def test_the_school_export_holds_only_that_school(county, entries, tmp_path):
    cells = _cells(_export(tmp_path, "aid", county.a_primary.code))
    assert county.s_a.name in cells and county.s_b.name not in cells


def test_township_export_excludes_county_direct_schools(county, entries, tmp_path):
    from ledgers.models import AidRecord

    AidRecord.objects.create(student=county.s_direct, term=term_of(today()).code, kind="living",
                             amount=625, granted_on=today())
    cells = _cells(_export(tmp_path, "aid", county.ta.code))
    assert county.s_a.name in cells and county.s_direct.name not in cells and county.s_b.name not in cells
    assert "填报单位：甲镇中心学校" in "".join(str(c) for c in cells)
    county_cells = _cells(_export(tmp_path, "aid", "county"))
    assert {county.s_a.name, county.s_b.name, county.s_direct.name} <= county_cells


def test_ids_are_masked_text_unless_full_with_reason(county, entries, tmp_path):
    masked = _cells(_export(tmp_path, "absences", county.a_primary.code))
    assert county.s_a.id_masked in masked and county.s_a.id_number not in masked
    assert "138****5678" in masked and "13812345678" not in masked
    with pytest.raises(CommandError):
        _export(tmp_path, "absences", county.a_primary.code, "--full")
    full = _export(tmp_path, "absences", "county", "--full", "--reason", "省厅核查")
    assert county.s_a.id_number in _cells(full)
    event = AuditEvent.objects.get(action="export_full")
    assert event.detail["reason"] == "省厅核查" and event.detail["ledger"] == "absences"


def test_every_export_is_audited(county, entries, tmp_path):
    _export(tmp_path, "returns", county.a_primary.code)
    event = AuditEvent.objects.get(action="export")
    assert event.detail["ledger"] == "returns" and event.detail["scope"] == county.a_primary.code
    assert event.detail["rows"] == 1 and event.detail["term"] == term_of(today()).code


def test_home_teaching_rows_and_totals(county, entries, tmp_path):
    plan = entries.a["home_teaching"]
    HomeTeachingVisit.objects.create(plan=plan, visit_date=today(), teachers="李老师", periods=3,
                                     content="rehab", guardian_signed=True)
    rows = _rows(_export(tmp_path, "home_teaching", county.a_primary.code))
    header = rows[3]
    data = [r for r in rows[4:] if isinstance(r[0], int)]
    assert len(data) == 2 and all(r[1] == county.s_a.name for r in data)
    periods = header.index("课时")
    assert sorted(r[periods] for r in data) == [2, 3]
    total = next(r for r in rows if r[0] == "合计")
    assert total[periods] == 5 and "共2次" in total


def test_home_teaching_child_without_visit_still_listed(county, entries, tmp_path):
    HomeTeachingVisit.objects.all().delete()
    cells = _cells(_export(tmp_path, "home_teaching", county.a_primary.code))
    assert county.s_a.name in cells and "本学期无送教记录" in cells


def test_formula_like_text_is_escaped(county, entries, tmp_path):
    FamilyContact.objects.filter(pk=entries.a["family_contact"].pk).update(
        content='=HYPERLINK("http://evil","点我")', staff="+李老师")
    cells = _cells(_export(tmp_path, "family_contact", county.a_primary.code))
    assert "'=HYPERLINK(\"http://evil\",\"点我\")" in cells and "'+李老师" in cells


def test_term_option_selects_the_term(county, entries, tmp_path):
    previous = term_of(today()).previous()
    ws = _export(tmp_path, "aid", county.a_primary.code, "--term", previous.code)
    assert previous.label in _rows(ws)[0][0]
    assert county.s_a.name not in _cells(ws)  # the fixture's aid is this term's


@pytest.mark.parametrize("args", [
    ["aid", "--scope", "999999999", "--out", "x.xlsx"],
    ["aid", "--scope", "county", "--out", "x.xlsx", "--term", "2024-summer"],
    ["aid", "--scope", "county", "--out", "x.csv"],
    ["bogus", "--scope", "county", "--out", "x.xlsx"],
])
def test_cli_refuses_bad_arguments(db, tmp_path, args):
    args = [a.replace("x.", str(tmp_path / "x.")) for a in args]
    with pytest.raises(CommandError):
        call_command("export_ledger", *args)


def test_browser_export_masks_and_audits(county, entries, client_as):
    response = client_as(county.school_a).post(reverse("ledgers:export", args=["deferrals"]))
    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    ws = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    cells = _cells(ws)
    assert "小明" in cells and "341522********0016" in cells and entries.a["deferrals"].id_number not in cells
    assert "小明" in cells and len([c for c in cells if c == "小明"]) == 1
    event = AuditEvent.objects.get(action="export")
    assert event.user == county.school_a and event.detail["source"] == "web"


def test_browser_full_export_for_county_needs_a_reason(county, entries, client_as):
    c = client_as(county.county_user)
    url = reverse("ledgers:export", args=["deferrals"])
    form = {"school": county.a_primary.pk, "full": "on"}
    no_reason = c.post(url, form)
    assert no_reason.status_code == 302 and no_reason["Location"] == reverse("ledgers:deferrals")
    assert not AuditEvent.objects.filter(action="export").exists()
    ok = c.post(url, {**form, "reason": "复核"})
    ws = openpyxl.load_workbook(io.BytesIO(b"".join(ok.streaming_content))).active
    assert entries.a["deferrals"].id_number in _cells(ws)
    assert AuditEvent.objects.filter(action="export_full", user=county.county_user).count() == 1


def test_browser_export_can_narrow_to_one_school(county, entries, client_as):
    url = reverse("ledgers:export", args=["aid"])
    response = client_as(county.county_user).post(url, {"school": county.b_primary.pk})
    ws = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    assert county.s_b.name in _cells(ws) and county.s_a.name not in _cells(ws)
    assert county.b_primary.name in _rows(ws)[0][0]


def test_template_is_the_empty_layout_and_not_audited(county, client_as):
    response = client_as(county.school_a).get(reverse("ledgers:template", args=["returns"]))
    ws = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    rows = _rows(ws)
    assert rows[0][0].endswith("返校报到台账") and rows[2][0] == "序号"
    assert not [r for r in rows[4:] if isinstance(r[0], int)]
    assert not AuditEvent.objects.filter(action="export").exists()


def test_export_reads_in_constant_queries(county, entries, tmp_path, django_assert_max_num_queries):
    from ledgers.models import AidRecord
    from tests.factories import StudentFactory

    kids = StudentFactory.create_batch(60, school=county.a_primary)
    AidRecord.objects.bulk_create([AidRecord(student=k, term=term_of(today()).code, kind="living",
                                             amount=500, granted_on=today() - dt.timedelta(days=1))
                                   for k in kids])
    with django_assert_max_num_queries(8):
        _export(tmp_path, "aid", county.a_primary.code)


def test_student_number_holding_the_id_is_masked(county, entries, tmp_path):
    from students.models import Student

    Student.objects.filter(pk=county.s_a.pk).update(student_number=f"G{county.s_a.id_number}")
    cells = _cells(_export(tmp_path, "aid", county.a_primary.code))
    assert f"G{county.s_a.id_masked}" in cells
    assert not any(county.s_a.id_number in str(c) for c in cells)
    full = _cells(_export(tmp_path, "aid", "county", "--full", "--reason", "核查"))
    assert f"G{county.s_a.id_number}" in full


# --------------------------------------------------------------------------- county-size jobs


def test_county_browser_export_runs_as_a_job(county, entries, client_as, django_capture_on_commit_callbacks):
    from kongchuo.models import Job

    c = client_as(county.county_user)
    with django_capture_on_commit_callbacks(execute=True):
        response = c.post(reverse("ledgers:export", args=["aid"]))
    job = Job.objects.get(kind="ledger_export")
    assert response.status_code == 302 and response["Location"] == reverse("ledgers:export_job", args=[job.pk])
    assert job.status == "succeeded" and job.result["rows"] == 2 and job.created_by == county.county_user
    page = c.get(response["Location"]).content.decode()
    assert reverse("ledgers:export_job_file", args=[job.pk]) in page and "共 2 行" in page
    download = c.get(reverse("ledgers:export_job_file", args=[job.pk]))
    ws = openpyxl.load_workbook(io.BytesIO(b"".join(download.streaming_content))).active
    assert {county.s_a.name, county.s_b.name} <= _cells(ws)
    assert county.s_a.id_number not in _cells(ws)
    assert AuditEvent.objects.filter(action="export", user=county.county_user,
                                     detail__source="web-job").exists()


def test_export_job_is_private_to_its_requester(county, entries, client_as,
                                                django_capture_on_commit_callbacks):
    from kongchuo.models import Job
    from tests.factories import UserFactory

    with django_capture_on_commit_callbacks(execute=True):
        client_as(county.county_user).post(reverse("ledgers:export", args=["aid"]))
    job = Job.objects.get(kind="ledger_export")
    colleague = UserFactory(username="u_county_2", role="county")
    for user, expected in ((colleague, 404), (county.township_a, 404), (county.gov_a, 403)):
        c = client_as(user)
        assert c.get(reverse("ledgers:export_job", args=[job.pk])).status_code == expected
        assert c.get(reverse("ledgers:export_job_file", args=[job.pk])).status_code == expected


def test_export_job_pages_need_login(client):
    assert client.get(reverse("ledgers:export_job", args=[1])).status_code == 302
    assert client.get(reverse("ledgers:export_job_file", args=[1])).status_code == 302


def test_export_job_runs_once(county, entries):
    from kongchuo.models import Job
    from ledgers.exports import ExportScope
    from ledgers.services import ledger_export_job_run, ledger_export_job_start

    job = ledger_export_job_start(user=county.county_user, name="returns", scope=ExportScope("county"),
                                  term=term_of(today()))
    assert ledger_export_job_run(job.pk).status == Job.Status.SUCCEEDED
    assert ledger_export_job_run(job.pk) is None  # a redelivered task finds the job taken
    assert AuditEvent.objects.filter(action="export").count() == 1


def test_full_county_export_job_keeps_the_reason(county, entries, client_as,
                                                 django_capture_on_commit_callbacks):
    c = client_as(county.county_user)
    with django_capture_on_commit_callbacks(execute=True):
        c.post(reverse("ledgers:export", args=["deferrals"]), {"full": "on", "reason": "省厅核查"})
    event = AuditEvent.objects.get(action="export_full")
    assert event.detail["reason"] == "省厅核查" and event.user == county.county_user
