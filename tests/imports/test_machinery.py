"""The runner, the Job rows, the task and the workbooks, through the roster kind."""

from __future__ import annotations

import openpyxl
import pytest

from kongchuo.access.models import AuditEvent
from kongchuo.imports import base
from kongchuo.imports.pipeline import import_run
from kongchuo.imports.runner import import_job_create, import_job_run
from kongchuo.imports.tasks import import_job_task
from kongchuo.imports.workbooks import error_workbook_write, template_write
from kongchuo.models import Job
from kongchuo.portal.xlsxout import ERROR_HEADER
from students.models import StatusChange, Student
from tests.imports.conftest import ROSTER_HEADER, new_id, roster_row

pytestmark = pytest.mark.django_db


class Boom(Exception):
    pass


def test_a_failed_import_leaves_the_database_as_it_was(county, files, monkeypatch):
    kind = base.get_kind("roster")
    moved = county.s_b
    path = files.roster("r.xlsx", [roster_row(1, county.a_primary, id_number=new_id(1)),
                                   roster_row(2, county.a_primary, id_number=moved.id_number, name=moved.name)])
    real_apply = kind.apply

    def apply_then_fail(plan, ctx):
        real_apply(plan, ctx)  # everything written ... then the worker dies
        assert Student.objects.filter(id_number=new_id(1)).exists()
        raise Boom

    monkeypatch.setattr(kind, "apply", apply_then_fail)
    job = import_job_create(kind="roster", user=county.county_user, source=path, filename="r.xlsx")
    before = (Student.objects.count(), StatusChange.objects.count(), Student.history.count())
    with pytest.raises(Boom):
        import_job_run(job, write=True)
    assert (Student.objects.count(), StatusChange.objects.count(), Student.history.count()) == before
    moved.refresh_from_db()
    assert moved.school == county.b_primary
    job.refresh_from_db()
    assert job.status == "failed" and "未改动" in job.message
    assert AuditEvent.objects.filter(action="import", outcome="failed", object_id=str(job.pk)).exists()
    monkeypatch.setattr(kind, "apply", real_apply)
    # The re-run after the failure (the user confirms again: pending) writes once, and a
    # redelivery of the same task is a no-op.
    assert import_job_task.run(job.pk, write=True) == {"job": job.pk, "skipped": True}  # failed: not taken
    Job.objects.filter(pk=job.pk).update(status="pending")
    result = import_job_task.run(job.pk, write=True)
    assert result["written"] is True
    assert import_job_task.run(job.pk, write=True) == {"job": job.pk, "skipped": True}
    assert Student.objects.filter(id_number=new_id(1)).count() == 1
    assert StatusChange.objects.filter(student=moved).count() == 1


def test_redelivered_write_after_commit_creates_no_duplicate(county, files):
    path = files.roster("r.xlsx", [roster_row(1, county.a_primary, id_number=new_id(1))])
    job = import_job_create(kind="roster", user=county.county_user, source=path, filename="r.xlsx")
    import_job_run(job, write=True)
    Job.objects.filter(pk=job.pk).update(status="running")  # the ack was lost; the task comes again
    job.refresh_from_db()
    again = import_job_run(job, write=True)
    assert again.written and Student.objects.filter(id_number=new_id(1)).count() == 1
    job.refresh_from_db()
    assert (job.status, job.progress, job.result["phase"]) == ("succeeded", 100, "written")


def test_preview_then_write_on_the_same_job(county, files):
    path = files.roster("r.xlsx", [roster_row(1, county.a_primary, id_number=new_id(1))])
    job = import_job_create(kind="roster", user=county.township_a, source=path, filename="名册.xlsx")
    preview = import_job_run(job, write=False)
    job.refresh_from_db()
    assert (preview.created, job.result["phase"], job.status) == (1, "dry_run", "succeeded")
    assert not Student.objects.filter(id_number=new_id(1)).exists()
    import_job_run(job, write=True)
    job.refresh_from_db()
    assert job.result["phase"] == "written" and job.result["created"] == 1
    assert job.created_by == county.township_a and job.params["filename"] == "名册.xlsx"
    assert job.file.name.startswith("jobs/") and len(job.checksum) == 64


def test_same_file_twice_is_a_visible_noop(county, files):
    path = files.roster("r.xlsx", [roster_row(1, county.a_primary, id_number=new_id(1))])
    first = import_run(kind="roster", path=path, job=import_job_create(
        kind="roster", user=None, source=path, filename="r.xlsx"))
    second = import_run(kind="roster", path=path, job=import_job_create(
        kind="roster", user=None, source=path, filename="r.xlsx"))
    assert second.same_as == first.job_id
    assert (second.created, second.updated, second.unchanged) == (0, 0, 1)
    assert Job.objects.get(pk=second.job_id).result["same_file_as"] == first.job_id


def test_error_workbook_round_trip(county, files, tmp_path):
    """Fix the red rows of the error workbook, upload it again: they go in."""
    good, bad = new_id(1), new_id(2)
    path = files.roster("r.xlsx", [roster_row(1, county.a_primary, id_number=good),
                                   roster_row(2, county.a_primary, id_number=bad, grade="十年级")],
                        footer=["合计", "", "", "", "", "2人"])
    job = import_job_create(kind="roster", user=None, source=path, filename="r.xlsx")
    result = import_job_run(job, write=True, skip_invalid=True)
    assert (result.created, result.rejected) == (1, 1)
    job.refresh_from_db()
    out = tmp_path / "errors.xlsx"
    assert error_workbook_write(job, out) == 1
    wb = openpyxl.load_workbook(out)
    ws = wb.active
    rows = [[c.value for c in r] for r in ws.iter_rows()]
    header_at = next(i for i, r in enumerate(rows) if r[:len(ROSTER_HEADER)] == ROSTER_HEADER)
    assert rows[header_at][len(ROSTER_HEADER)] == ERROR_HEADER
    red = [r for r in rows[header_at + 1:] if r[len(ROSTER_HEADER)]]
    assert len(red) == 1 and "年级" in red[0][len(ROSTER_HEADER)]
    assert red[0][ROSTER_HEADER.index("身份证件号")] == bad  # the ID stays text, all 18 characters
    for r in ws.iter_rows(min_row=header_at + 2):
        if r[len(ROSTER_HEADER)].value:
            r[ROSTER_HEADER.index("年级")].value = "三年级"
    fixed = tmp_path / "fixed.xlsx"
    wb.save(fixed)
    again = import_run(kind="roster", path=fixed)
    assert (again.created, again.unchanged, again.rejected, again.exit_code) == (1, 1, 0, 0)
    assert Student.objects.get(id_number=bad).grade == 3


def test_template_has_every_column_and_text_format(tmp_path):
    kind = base.get_kind("roster")
    out = tmp_path / "t.xlsx"
    template_write(kind, out)
    wb = openpyxl.load_workbook(out)
    header = [c.value for c in next(wb.worksheets[0].iter_rows())]
    assert header == [f.label for f in kind.fields]
    assert "填写说明" in wb.sheetnames
    result = import_run(kind="roster", path=out)  # an empty template is a valid, empty import
    assert (result.rows, result.exit_code) == (0, 0)


def test_every_kind_writes_an_importable_template(tmp_path):
    for kind in base.all_kinds():
        out = tmp_path / f"{kind.slug}.xlsx"
        template_write(kind, out)
        from kongchuo.imports.reader import read_rows
        from kongchuo.imports.tabular import find_header

        header = find_header(read_rows(out), kind.columns())
        assert set(header.columns) == {f.key for f in kind.fields if f.template}


def test_registry_covers_the_seven_kinds():
    assert {k.slug for k in base.all_kinds()} >= {
        "schools", "roster", "returns", "status_changes", "census", "support", "feedback"}


def test_formula_cells_are_escaped_in_the_error_workbook(county, files, tmp_path):
    path = files.roster("r.xlsx", [roster_row(1, county.a_primary, id_number=new_id(1), name="=HYPERLINK(1)",
                                              grade="x")])
    job = import_job_create(kind="roster", user=None, source=path, filename="r.xlsx")
    import_job_run(job, write=False)
    job.refresh_from_db()
    out = tmp_path / "e.xlsx"
    error_workbook_write(job, out)
    ws = openpyxl.load_workbook(out).active
    names = [r[ROSTER_HEADER.index("姓名")].value for r in ws.iter_rows()]
    assert "'=HYPERLINK(1)" in names and all(not str(n).startswith("=") for n in names if n)
