"""Ledger writes: ownership, optimistic concurrency, history, status side effects, returns,
deferral review, evidence uploads."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from kongchuo.access.models import AuditEvent
from kongchuo.calendar.schoolyear import term_of, today
from ledgers.models import Attachment, Deferral, ReturnReport, VocationalRecord
from ledgers.registry import KINDS
from ledgers.selectors import entry_history
from ledgers.services import (
    StaleEdit,
    attachment_add,
    attachment_delete,
    deferral_review,
    ledger_entry_create,
    ledger_entry_update,
    return_reports_mark,
    status_change_record,
)
from students.models import StatusChange, Student
from tests.factories import StudentFactory
from tests.ledgers.conftest import TINY_PDF, VALID_CHILD_ID, tiny_png

pytestmark = pytest.mark.django_db


def _upload(name: str, data: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="image/png")


# --------------------------------------------------------------------------- create / ownership


def test_school_creates_entry_for_own_student(county):
    entry = ledger_entry_create(kind=KINDS["aid"], user=county.school_a, values={
        "student": county.s_a, "term": term_of(today()).code, "kind": "living", "amount": 500,
        "granted_on": today(), "source": "财政"})
    assert entry.created_by == county.school_a and entry.version == 1
    assert entry.history.count() == 1
    assert entry.history.first().history_user == county.school_a


@pytest.mark.parametrize("who", ["school_b", "township_a", "county_user", "gov_a"])
def test_nobody_else_creates_for_school_a(county, who):
    with pytest.raises(PermissionDenied):
        ledger_entry_create(kind=KINDS["absences"], user=getattr(county, who), values={
            "student": county.s_a, "start_date": today(), "end_date": today(), "school_days": 1})


def test_school_ledger_gets_the_users_school(county):
    entry = ledger_entry_create(kind=KINDS["publicity"], user=county.school_a, values={
        "activity_date": today(), "kind": "banner", "audience": "家长", "participants": 0,
        "description": ""})
    assert entry.school == county.a_primary


def test_vocational_record_moves_the_student_status_once(county):
    values = {"student": county.s_a, "school_name": "霍邱职高", "major": "汽修",
              "start_date": today(), "proof": ""}
    ledger_entry_create(kind=KINDS["vocational"], user=county.school_a, values=values)
    county.s_a.refresh_from_db()
    assert county.s_a.status == Student.Status.VOCATIONAL
    change = StatusChange.objects.get(student=county.s_a)
    assert change.kind == "vocational" and change.created_by == county.school_a
    ledger_entry_create(kind=KINDS["vocational"], user=county.school_a, values=values)
    assert StatusChange.objects.filter(student=county.s_a).count() == 1
    assert VocationalRecord.objects.count() == 2


# --------------------------------------------------------------------------- optimistic edits


def test_update_bumps_version_and_records_old_to_new(county, entries):
    entry = entries.a["absences"]
    ledger_entry_update(entry=entry, user=county.school_a, expected_version=1,
                        values={"reason_found": "生病", "explained": True})
    entry.refresh_from_db()
    assert entry.version == 2 and entry.explained
    latest = entry_history(entry)[0]
    assert latest.user == county.school_a.username and latest.action == "修改"
    assert ("查明原因", "—", "生病") in latest.changes
    assert ("已说明原因", "否", "是") in latest.changes


def test_stale_update_is_refused_and_changes_nothing(county, entries):
    entry = entries.a["absences"]
    ledger_entry_update(entry=entry, user=county.school_a, expected_version=1,
                        values={"reason_found": "第一位同事"})
    with pytest.raises(StaleEdit):
        ledger_entry_update(entry=entry, user=county.school_a, expected_version=1,
                            values={"reason_found": "第二位同事"})
    entry.refresh_from_db()
    assert entry.reason_found == "第一位同事" and entry.version == 2


def test_update_of_foreign_entry_is_refused(county, entries):
    with pytest.raises(PermissionDenied):
        ledger_entry_update(entry=entries.b["absences"], user=county.school_a, expected_version=1,
                            values={"reason_found": "x"})


def test_update_cannot_move_entry_to_foreign_student(county, entries):
    with pytest.raises(PermissionDenied):
        ledger_entry_update(entry=entries.a["aid"], user=county.school_a, expected_version=1,
                            values={"student": county.s_b})


def test_reviewed_deferral_is_frozen(county, entries):
    deferral = entries.a["deferrals"]
    deferral_review(deferral=deferral, user=county.township_a, approve=True, note="", expected_version=1)
    with pytest.raises(PermissionDenied):
        ledger_entry_update(entry=deferral, user=county.school_a, expected_version=2,
                            values={"reason": "改"})


# --------------------------------------------------------------------------- 学籍变动


def test_status_change_suspend_updates_student(county):
    change = status_change_record(user=county.school_a, student=county.s_a, kind="suspend",
                                  effective_date=today(), end_date=today() + dt.timedelta(days=180),
                                  reason="因病休学", approved_by="校长")
    county.s_a.refresh_from_db()
    assert county.s_a.status == Student.Status.SUSPENDED
    assert change.from_status == "enrolled" and change.to_status == "suspended"
    with pytest.raises(ValidationError):
        status_change_record(user=county.school_a, student=county.s_a, kind="suspend",
                             effective_date=today(), reason="重复", approved_by="校长")


def test_status_change_only_for_own_students_and_known_kinds(county):
    with pytest.raises(PermissionDenied):
        status_change_record(user=county.school_a, student=county.s_b, kind="leave",
                             effective_date=today(), reason="x")
    with pytest.raises(ValidationError):
        status_change_record(user=county.school_a, student=county.s_a, kind="death",
                             effective_date=today(), reason="x")


# --------------------------------------------------------------------------- 返校报到


def test_return_reports_are_idempotent_per_student_and_term(county, second_student):
    term = term_of(today())
    ids = [county.s_a.pk, second_student.pk]
    assert return_reports_mark(user=county.school_a, term=term, student_ids=ids, reported_on=today()) == 2
    assert return_reports_mark(user=county.school_a, term=term, student_ids=ids, reported_on=today()) == 0
    assert ReturnReport.objects.filter(term=term.code).count() == 2
    assert ReturnReport.history.filter(history_user=county.school_a).count() == 2


def test_return_reports_refuse_foreign_children(county):
    with pytest.raises(PermissionDenied):
        return_reports_mark(user=county.school_a, term=term_of(today()),
                            student_ids=[county.s_a.pk, county.s_b.pk], reported_on=today())
    assert not ReturnReport.objects.exists()


def test_return_reports_query_count_does_not_grow_with_class(county, django_assert_max_num_queries):
    kids = StudentFactory.create_batch(40, school=county.a_primary)
    with django_assert_max_num_queries(8):
        n = return_reports_mark(user=county.school_a, term=term_of(today()),
                                student_ids=[k.pk for k in kids], reported_on=today())
    assert n == 40


# --------------------------------------------------------------------------- 延缓入学


def test_township_approves_and_linked_student_is_deferred(county, entries):
    deferral = entries.a["deferrals"]
    deferral.student = county.s_a
    deferral.save()
    deferral_review(deferral=deferral, user=county.township_a, approve=True, note="同意",
                    expected_version=deferral.version)
    deferral.refresh_from_db()
    county.s_a.refresh_from_db()
    assert deferral.review == Deferral.Review.APPROVED and deferral.reviewed_by == county.township_a
    assert county.s_a.status == Student.Status.DEFERRED
    assert AuditEvent.objects.filter(action="deferral_review", object_id=str(deferral.pk)).exists()


def test_reject_needs_a_reason_and_review_happens_once(county, entries):
    deferral = entries.a["deferrals"]
    with pytest.raises(ValidationError):
        deferral_review(deferral=deferral, user=county.township_a, approve=False, note="  ",
                        expected_version=1)
    deferral_review(deferral=deferral, user=county.township_a, approve=False, note="证明不全",
                    expected_version=1)
    with pytest.raises(StaleEdit):
        deferral_review(deferral=deferral, user=county.township_a, approve=True, note="",
                        expected_version=2)


@pytest.mark.parametrize("who", ["township_b", "county_user", "school_a", "gov_a"])
def test_only_the_township_reviews_its_schools(county, entries, who):
    with pytest.raises(PermissionDenied):
        deferral_review(deferral=entries.a["deferrals"], user=getattr(county, who), approve=True,
                        note="", expected_version=1)


def test_county_reviews_county_direct_schools(county):
    deferral = Deferral.objects.create(
        school=county.direct, id_number=VALID_CHILD_ID, name="甲", birth_date=dt.date(2018, 3, 7),
        guardian_name="乙", reason="病", certificate="证明", start_date=today(),
        end_date=today() + dt.timedelta(days=100))
    with pytest.raises(PermissionDenied):
        deferral_review(deferral=deferral, user=county.township_a, approve=True, note="",
                        expected_version=1)
    deferral_review(deferral=deferral, user=county.county_user, approve=True, note="", expected_version=1)
    assert Deferral.objects.get(pk=deferral.pk).review == "approved"


# --------------------------------------------------------------------------- attachments


def test_png_and_pdf_are_stored_under_media_with_a_random_name(county, entries):
    entry = entries.a["publicity"]
    att = attachment_add(entry=entry, user=county.school_a, upload=_upload("../../etc/照片.png", tiny_png()))
    pdf = attachment_add(entry=entry, user=county.school_a, upload=_upload("证明.pdf", TINY_PDF))
    assert att.mime == "image/png" and pdf.mime == "application/pdf"
    path = Path(att.file.path)
    assert path.is_file() and Path(settings.MEDIA_ROOT) in path.parents
    assert "照片" not in path.name and ".." not in att.file.name
    assert att.original_name == "照片.png" and att.size == len(tiny_png())
    assert AuditEvent.objects.filter(action="attachment_add").count() == 2


@pytest.mark.parametrize("name,data", [
    ("evil.png", b"<html><script>alert(1)</script></html>"),
    ("image.jpg", b"<svg xmlns='http://www.w3.org/2000/svg'/>"),
    ("doc.pdf", b"%PDF-1.4 truncated without an end marker"),
    ("empty.png", b""),
    ("macro.pdf", b"PK\x03\x04" + b"\x00" * 100),
])
def test_uploads_are_judged_by_content(county, entries, name, data):
    with pytest.raises(ValidationError) as exc:
        attachment_add(entry=entries.a["publicity"], user=county.school_a, upload=_upload(name, data))
    # A coded refusal worded in the default language (Chinese; English through the catalog).
    assert exc.value.code in ("empty", "damaged", "file_type")
    assert any("\u4e00" <= char <= "\u9fff" for char in exc.value.messages[0])
    assert not Attachment.objects.exists()


def test_upload_size_is_limited(county, entries, settings):
    settings.KONGCHUO_ATTACHMENT_MAX_BYTES = 1024 * 1024
    big = tiny_png() + b"\x00" * (1024 * 1024)
    with pytest.raises(ValidationError) as exc:
        attachment_add(entry=entries.a["publicity"], user=county.school_a, upload=_upload("big.png", big))
    assert "文件过大" in exc.value.messages[0]


def test_upload_needs_the_owning_school(county, entries):
    for user in (county.school_b, county.township_a, county.county_user):
        with pytest.raises(PermissionDenied):
            attachment_add(entry=entries.a["publicity"], user=user, upload=_upload("a.png", tiny_png()))


def test_status_change_takes_evidence_too(county, entries):
    att = attachment_add(entry=entries.a["status_changes"], user=county.school_a,
                         upload=_upload("转学证明.pdf", TINY_PDF))
    assert att.content_type.model == "statuschange"


def test_delete_removes_row_and_file(county, attachment, django_capture_on_commit_callbacks):
    path = Path(attachment.file.path)
    with django_capture_on_commit_callbacks(execute=True):
        attachment_delete(attachment=attachment, user=county.school_a)
    assert not Attachment.objects.exists() and not path.exists()
    assert AuditEvent.objects.filter(action="attachment_delete").exists()


def test_only_the_owner_deletes(county, attachment):
    for user in (county.school_b, county.township_a, county.county_user):
        with pytest.raises(PermissionDenied):
            attachment_delete(attachment=attachment, user=user)
    assert Attachment.objects.filter(pk=attachment.pk).exists()
