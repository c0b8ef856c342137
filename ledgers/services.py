"""Every write of the ledgers. Views parse and scope, then call one of these; nothing else writes.

Ownership: a ledger entry is written by a user of the school that holds the child (school
ledgers: the school itself). Township and county users read; they write only deferral reviews.
Edits are optimistic: the form carries the version it was opened at, the row is locked, and a
stale version raises `StaleEdit` without touching the row.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import tempfile
import uuid
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files import File
from django.db import IntegrityError, models, transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext

from kongchuo.access.audit import audit_record
from kongchuo.access.scoping import Role, scope_of
from kongchuo.calendar.schoolyear import Term, parse_term, today
from kongchuo.jobs import JobRun, enqueue, job_execute
from kongchuo.models import Job
from ledgers.attachments import sniff_attachment
from ledgers.exports import filename_for, scope_from_code
from ledgers.models import Attachment, Deferral, ReturnReport
from ledgers.registry import LedgerKind, kind_for_model, school_id_of
from ledgers.selectors import can_review_deferral
from students.models import School, StatusChange, Student, TransferRequest, User
from students.services import StaleEdit, student_change_status
from students.transfers import transfer_request_create

if TYPE_CHECKING:  # for annotations only: the export modules load xlsxwriter
    from kongchuo.portal.xlsxout import Out
    from ledgers.exports import ExportScope

log = logging.getLogger(__name__)

__all__ = [
    "StaleEdit",
    "attachment_add",
    "attachment_delete",
    "deferral_review",
    "ledger_entry_create",
    "ledger_export",
    "ledger_export_job_run",
    "ledger_export_job_start",
    "ledger_entry_update",
    "return_report_withdraw",
    "return_reports_mark",
    "status_change_record",
    "transfer_out_of_county_record",
]

# 学籍变动 kinds a school records in the ledger (the five); the others come from
# other ledgers (中职, 外县, 延缓, 送教) or from the retrieval workflow.
STATUS_CHANGE_KINDS = (
    StatusChange.Kind.TRANSFER_IN, StatusChange.Kind.TRANSFER_OUT, StatusChange.Kind.LEAVE,
    StatusChange.Kind.SUSPEND, StatusChange.Kind.RESUME,
)

# Creating one of these entries is also a status fact: record it once, here.
_STATUS_OF_LEDGER = {
    "vocational": (StatusChange.Kind.VOCATIONAL, Student.Status.VOCATIONAL, "start_date"),
    "out_of_county": (StatusChange.Kind.OUT_OF_COUNTY, Student.Status.OUT_OF_COUNTY, "start_date"),
    "home_teaching": (StatusChange.Kind.HOME_TEACHING, Student.Status.HOME_TEACHING, "start_date"),
}


def _own_school_id(user: User) -> int:
    scope = scope_of(user)
    if scope is None or scope.role != Role.SCHOOL:
        raise PermissionDenied(gettext("只有学校账号可以登记台账"))
    return scope.school_id  # type: ignore[return-value]


def _check_student(student: Student | None, school_id: int) -> None:
    if student is not None and student.school_id != school_id:
        raise PermissionDenied(gettext("该学生不属于本校"))


def _sync_status(*, kind: LedgerKind, entry: Any, user: User) -> None:
    spec = _STATUS_OF_LEDGER.get(kind.slug)
    if spec is None:
        return
    change_kind, status, date_field = spec
    student = entry.student
    day = getattr(entry, date_field)
    if student.status == status or StatusChange.objects.filter(
            student=student, kind=change_kind, effective_date=day).exists():
        return
    student_change_status(student=student, kind=change_kind, effective_date=day, user=user,
                          reason=f"{kind.verbose}台账", source="ledger")


@transaction.atomic
def ledger_entry_create(*, kind: LedgerKind, user: User, values: dict[str, Any]) -> models.Model:
    """Create an entry of `kind` for the user's own school.

    `values` are model field values (a ModelForm's cleaned_data). Sub-log entries carry their
    parent in `values` (`plan`); school ledgers get the user's school set here.
    """
    if not kind.editable:
        raise PermissionDenied
    school_id = _own_school_id(user)
    entry: Any = kind.model(**values)  # one of the ledger models: their fields differ
    if kind.parent:
        _check_student(getattr(entry, kind.parent_field).student, school_id)
    elif kind.student_path is None:
        entry.school_id = school_id
        _check_student(getattr(entry, "student", None), school_id)
    else:
        _check_student(entry.student, school_id)
    entry.created_by = user
    entry._history_user = user  # django-simple-history's author hook
    entry.full_clean()
    entry.save()
    _sync_status(kind=kind, entry=entry, user=user)
    return entry


@transaction.atomic
def ledger_entry_update(*, entry: models.Model, user: User, expected_version: int | None,
                        values: dict[str, Any]) -> models.Model:
    """Apply `values` if nobody saved the entry since `expected_version`; else StaleEdit.

    Locks the row (SELECT … FOR UPDATE) so two saves of the same version serialise and the
    second one sees the bumped version.
    """
    kind = kind_for_model(type(entry))
    if kind is None or not kind.editable:
        raise PermissionDenied
    school_id = _own_school_id(user)
    # The registry types the model as Model; every ledger model's manager is a scoped one.
    manager = kind.model.objects  # type: ignore[attr-defined]
    locked = manager.select_for_update(of=("self",)).in_school(school_id).filter(pk=entry.pk).first()
    if locked is None:
        raise PermissionDenied
    if expected_version is None or locked.version != expected_version:
        raise StaleEdit
    if kind.slug == "deferrals" and locked.review != Deferral.Review.PENDING:
        raise PermissionDenied(gettext("已审核的申请不能修改"))
    for name, value in values.items():
        setattr(locked, name, value)
    if kind.student_path == "student" or (kind.student_path is None and hasattr(locked, "student")):
        _check_student(locked.student, school_id)
    locked.version += 1
    locked._history_user = user
    locked.full_clean()
    locked.save()
    return locked


@transaction.atomic
def status_change_record(*, user: User, student: Student, kind: str, effective_date: dt.date,
                         end_date: dt.date | None = None, to_school: School | None = None,
                         to_county: str = "", to_school_name: str = "", reason: str = "",
                         approved_by: str = "") -> StatusChange:
    """学籍变动 through the one core service; the school records changes of its own students.

    A 转出 to a school of the county is not a move: it is a pending transfer (转出登记) the
    receiving side confirms (students.transfers); the row returned is its 转学申请 history row.
    """
    _check_student(student, _own_school_id(user))
    if kind not in STATUS_CHANGE_KINDS:
        raise ValidationError(gettext("不支持的变动类型"))
    if kind == StatusChange.Kind.TRANSFER_OUT and to_school is not None:
        transfer = transfer_request_create(
            user=user, student=student, to_school=to_school, direction=TransferRequest.Direction.OUT,
            grade=student.grade, reason=reason, requested_on=effective_date)
        return (StatusChange.objects.filter(student=student, kind=StatusChange.Kind.TRANSFER_REQUEST)
                .order_by("-effective_date", "-pk").first()) or transfer  # type: ignore[return-value]
    if StatusChange.objects.filter(student=student, kind=kind, effective_date=effective_date).exists():
        raise ValidationError(gettext("该学生当天已登记过同类变动"))
    return student_change_status(
        student=student, kind=kind, effective_date=effective_date, end_date=end_date,
        to_school=to_school, to_county=to_county, to_school_name=to_school_name, reason=reason,
        approved_by=approved_by, user=user, source="manual")


@transaction.atomic
def return_reports_mark(*, user: User, term: Term, student_ids: Iterable[int],
                        reported_on: dt.date) -> int:
    """Mark the ticked children of a class as reported back; returns how many were new.

    Idempotent on (student, term): already-reported children are skipped, and the unique
    constraint with ignore_conflicts absorbs a concurrent tick of the same child. Three
    queries whatever the class size.
    """
    school_id = _own_school_id(user)
    wanted = sorted({int(i) for i in student_ids})
    if not wanted:
        return 0
    own = set(Student.objects.filter(school_id=school_id, pk__in=wanted).values_list("pk", flat=True))
    if len(own) != len(wanted):
        raise PermissionDenied(gettext("名单中有非本校学生"))
    done = set(ReturnReport.objects.filter(term=term.code, student_id__in=wanted)
               .values_list("student_id", flat=True))
    new = [ReturnReport(student_id=pk, term=term.code, reported_on=reported_on, created_by=user)
           for pk in wanted if pk not in done]
    ReturnReport.objects.bulk_create(new, ignore_conflicts=True)
    created = list(ReturnReport.objects.filter(term=term.code, created_by=user,
                                               student_id__in=[r.student_id for r in new]))
    ReturnReport.history.bulk_history_create(created, default_user=user)
    return len(created)


@transaction.atomic
def return_report_withdraw(*, report: ReturnReport, user: User, expected_version: int | None) -> None:
    """Undo a mistaken tick: the report goes (its history keeps a "deleted" row) and the child is
    back on the not-reported list. Only the owning school, only the version the clerk saw."""
    school_id = _own_school_id(user)
    locked = (ReturnReport.objects.select_for_update(of=("self",)).in_school(school_id)
              .filter(pk=report.pk).first())
    if locked is None:
        raise PermissionDenied
    if expected_version != locked.version:
        raise StaleEdit
    audit_record(action="return_report_withdraw", user=user, obj=locked,
                 detail={"student": locked.student_id, "term": locked.term})
    locked._history_user = user
    locked.delete()


@transaction.atomic
def deferral_review(*, deferral: Deferral, user: User, approve: bool, note: str,
                    expected_version: int | None) -> Deferral:
    """Approve or reject a pending 延缓入学 application (township center school; county for
    county-direct schools). An approved application of a known student sets 延缓入学."""
    locked = Deferral.objects.select_for_update(of=("self",)).select_related("school").get(pk=deferral.pk)
    if not can_review_deferral(user, locked):
        raise PermissionDenied
    if locked.review != Deferral.Review.PENDING or expected_version != locked.version:
        raise StaleEdit
    note = (note or "").strip()
    if not approve and not note:
        raise ValidationError(gettext("驳回时必须填写理由"))
    locked.review = Deferral.Review.APPROVED if approve else Deferral.Review.REJECTED
    locked.reviewed_by = user
    locked.reviewed_at = timezone.now()
    locked.review_note = note
    locked.version += 1
    locked._history_user = user
    locked.save()
    if approve and locked.student_id:
        student_change_status(
            student=locked.student, kind=StatusChange.Kind.DEFER, effective_date=locked.start_date,
            end_date=locked.end_date, reason=locked.reason, user=user, source="ledger",
            approved_by=user.get_full_name() or user.username)
    audit_record(action="deferral_review", user=user, obj=locked,
                 detail={"decision": locked.review})
    return locked


@transaction.atomic
def transfer_out_of_county_record(*, user: User, student: Student, effective_date: dt.date,
                                  to_county: str, to_school_name: str, reason: str, approved_by: str,
                                  proof: File | None = None) -> StatusChange:
    """转出县外: the receiving school's name and county are required; the 接收证明 (acceptance
    letter) is attached now or later on the entry's page — until then the child is on the
    转出县外缺接收证明 worklist (ledgers.selectors.transfers_without_proof) and the 11–12月
    feedback verification lists them."""
    to_county, to_school_name = (to_county or "").strip(), (to_school_name or "").strip()
    if not to_county or not to_school_name:
        raise ValidationError(gettext("转出县外须填写接收学校名称和所在县区"))
    change = status_change_record(user=user, student=student, kind=StatusChange.Kind.TRANSFER_OUT,
                                  effective_date=effective_date, to_county=to_county,
                                  to_school_name=to_school_name, reason=reason, approved_by=approved_by)
    if proof is not None:
        attachment_add(entry=change, user=user, upload=proof)
    return change


# --------------------------------------------------------------------------- attachments


def _owner_of_attached(entry: models.Model) -> int | None:
    kind = kind_for_model(type(entry))
    if kind is None:
        return None
    return school_id_of(entry, kind.school_path)


@transaction.atomic
def attachment_add(*, entry: models.Model, user: User, upload: File) -> Attachment:
    """Store an evidence file for `entry` after checking its bytes (type, size)."""
    if _owner_of_attached(entry) != _own_school_id(user):
        raise PermissionDenied
    mime = sniff_attachment(upload, size=upload.size,
                            max_bytes=settings.KONGCHUO_ATTACHMENT_MAX_BYTES)
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    name = (upload.name or "file").replace("\\", "/").rsplit("/", 1)[-1][:120]
    att = Attachment(content_type=ContentType.objects.get_for_model(type(entry)),
                     object_id=entry.pk, token=uuid.uuid4().hex, original_name=name, mime=mime,
                     size=upload.size, sha256=digest.hexdigest(), uploaded_by=user,
                     uploaded_at=timezone.now())
    att.file.save("upload", upload, save=False)
    stored = att.file.name
    try:
        att.save()
    except IntegrityError:
        att.file.storage.delete(stored)
        raise
    audit_record(action="attachment_add", user=user, obj=entry,
                 detail={"attachment": att.pk, "mime": mime, "size": att.size})
    return att


@transaction.atomic
def attachment_delete(*, attachment: Attachment, user: User) -> None:
    entry = attachment.content_type.get_object_for_this_type(pk=attachment.object_id)
    if _owner_of_attached(entry) != _own_school_id(user):
        raise PermissionDenied
    storage, name = attachment.file.storage, attachment.file.name
    audit_record(action="attachment_delete", user=user, obj=entry,
                 detail={"attachment": attachment.pk, "name": attachment.original_name})
    attachment.delete()
    transaction.on_commit(lambda: storage.delete(name))


# --------------------------------------------------------------------------- exports


class _Counted:
    def __init__(self, rows: Iterable[Any]) -> None:
        self.rows = rows
        self.n = 0

    def __iter__(self) -> Iterator[Any]:
        for row in self.rows:
            self.n += 1
            yield row


def ledger_export(*, name: str, out: Out, scope: ExportScope, term: Term | None,
                  user: User | None = None, request: HttpRequest | None = None, full: bool = False,
                  reason: str = "", source: str = "web") -> int:
    """Write ledger `name` for `scope` in the official layout to `out`; returns the row count.

    Browser exports read through the user's `visible_to` narrowed to `scope`; the CLI (user is
    None) reads `scope` directly. IDs and phones are masked unless `full`, which only a county
    user (or the operator at the CLI) may ask for, with a reason; both are audited.
    `term=None` writes the empty template (no rows, no audit: it holds no personal data).
    """
    from kongchuo.portal.xlsxout import write_official_ledger
    from ledgers.exports import build_sheet, ledger_title

    _full_export_check(user=user, full=full, reason=reason)

    def scoped(model: Any) -> models.QuerySet:
        qs = model.objects.all() if user is None else model.objects.visible_to(user)
        return scope.apply(qs)

    sheet = build_sheet(name, scoped=scoped, scope=scope, term=term, full=full)
    rows = _Counted(sheet.rows)
    filler = (user.get_full_name() or user.username) if user is not None else ""
    write_official_ledger(out, title=ledger_title(name, scope, term), unit=scope.unit,
                          fill_date=today(), columns=sheet.columns, rows=rows,
                          total_row=sheet.total() if sheet.total else None,
                          footer=(f"填表人：{filler}", "审核人：", "（盖章）"))
    if term is None:
        return 0
    detail = {"ledger": name, "scope": scope.code, "term": term.code, "rows": rows.n,
              "full": full, "source": source}
    audit_record(action="export", user=user, request=request, object_type="ledger",
                 object_id=name, detail=detail)
    if full:
        audit_record(action="export_full", user=user, request=request, object_type="ledger",
                     object_id=name, detail={**detail, "reason": reason.strip()})
    return rows.n


# --------------------------------------------------------------------------- county-size exports

EXPORT_JOB_KIND = "ledger_export"
EXPORT_JOB_TASK = "ledgers.export_job"  # ledgers/tasks.py; stored in outbox rows


@transaction.atomic
def ledger_export_job_start(*, user: User, name: str, scope: ExportScope, term: Term, full: bool = False,
                            reason: str = "") -> Job:
    """Queue a big export (the whole county) for the worker; the page polls the Job.

    The same checks as `ledger_export` run now, so a refused export never reaches the queue.
    """
    _full_export_check(user=user, full=full, reason=reason)
    job = Job.objects.create(kind=EXPORT_JOB_KIND, created_by=user, params={
        "ledger": name, "scope": scope.code, "term": term.code, "full": full, "reason": reason.strip()})
    enqueue(EXPORT_JOB_TASK, job.pk)
    return job


def _full_export_check(*, user: User | None, full: bool, reason: str) -> None:
    """Full ID numbers are for county users (or the operator at the CLI: no user), with a reason."""
    if not full:
        return
    if user is not None and getattr(scope_of(user), "role", None) != Role.COUNTY:
        raise PermissionDenied(gettext("只有县级用户可以导出完整证件号"))
    if not reason.strip():
        raise ValidationError(gettext("导出完整证件号须填写理由"))


def _export_failure_message(exc: BaseException) -> str:
    # Written by the worker in the site's language: no user's request to take it from.
    return gettext("导出失败（%(error)s），请重新导出；如多次失败，请联系管理员。") % {
        "error": type(exc).__name__}


def ledger_export_job_run(job_id: int) -> Job | None:
    """Write the export of Job `job_id` into its output file, through the one Job lifecycle
    (kongchuo.jobs.job_execute).

    Idempotent: the job is claimed by a conditional UPDATE (pending → running), so a redelivered
    task finds nothing to claim and returns None. Rows are read through the requesting user's
    `visible_to`, exactly as the browser export would.
    """
    def work(job: Job, run: JobRun) -> dict:
        params = job.params
        fd, path = tempfile.mkstemp(suffix=".xlsx")
        os.close(fd)
        try:
            scope = scope_from_code(params["scope"])
            term = parse_term(params["term"])
            rows = ledger_export(name=params["ledger"], out=path, scope=scope, term=term,
                                 user=job.created_by, full=params.get("full", False),
                                 reason=params.get("reason", ""), source="web-job")
            with open(path, "rb") as fh:
                job.output.save(f"ledger-{job.pk}.xlsx", File(fh), save=False)
        finally:
            os.unlink(path)
        return {"rows": rows, "filename": filename_for(params["ledger"], scope, term, today())}

    return job_execute(job_id, work, kind_prefix=EXPORT_JOB_KIND, failure_message=_export_failure_message)
