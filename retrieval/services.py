"""Writes of the 劝返 workflow. Views call these, never the ORM.

Every function is atomic, locks the rows it changes (`select_for_update().order_by("pk")`),
checks the caller's level with the predicates of `retrieval.selectors` (the view has already
fetched the object through `visible_to`), and appends a dated, signed row; nothing is deleted.
Edits of a case or an answer carry the version the form was opened with (`StaleEdit` when
someone saved in between).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
import secrets
from collections.abc import Iterable, Sequence
from typing import IO

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from kongchuo.access.audit import audit_record
from kongchuo.access.idnumbers import mask_ids_in_value
from kongchuo.access.scoping import Role
from kongchuo.calendar.schoolyear import today as local_today
from ledgers.models import AidRecord
from retrieval import selectors as sel
from retrieval.cases import (
    DISMISS_NEEDS_EVIDENCE,
    DISMISS_NEEDS_NOTE,
    AlertDecision,
    ClosureRequest,
    DismissReason,
    Escalation,
    Evidence,
    PersuasionAttempt,
    RectificationOrder,
    RetrievalCase,
    SupervisionFinding,
    SupervisionSample,
    SupervisionVisit,
)
from retrieval.inbox import inbox_for
from retrieval.models import Alert, FeedbackBatch, FeedbackItem
from students.models import School, StatusChange, Student, User
from students.services import StaleEdit, student_change_status

__all__ = ["StaleEdit", "WorkflowError"]

MAX_FILES = 5


class WorkflowError(Exception):
    """A step the workflow refuses (wrong state, missing evidence…): Chinese / English text."""


def _lock(model, pk):
    return model.objects.select_for_update().order_by("pk").get(pk=pk)


def _require_scope(queryset, user, pk) -> None:
    """Defence in depth: views fetch through `visible_to` already; a service called from
    elsewhere (a task, the shell, a test) must not act outside the user's scope either."""
    if not queryset.visible_to(user).filter(pk=pk).exists():
        raise PermissionDenied


def _check_version(obj, version: int | None) -> None:
    if version is not None and obj.version != version:
        raise StaleEdit("该记录已被他人修改，请刷新后重试 / someone else saved this record; reload")


def _bump(obj, fields: list[str], user) -> None:
    obj.version += 1
    obj._history_user = user  # simple_history: sign the edit outside a request
    obj.save(update_fields=[*fields, "version"])


def _not_future(day: dt.date | None, label: str) -> None:
    if day is not None and day > local_today():
        raise WorkflowError(f"{label}不能晚于今天 / {label} cannot be in the future")


# --------------------------------------------------------------------------- evidence

_MAGIC = (
    (b"%PDF-", Evidence.Mime.PDF),
    (b"\x89PNG\r\n\x1a\n", Evidence.Mime.PNG),
    (b"\xff\xd8\xff", Evidence.Mime.JPEG),
)


def evidence_sniff(upload) -> str:
    """The file's real type from its first bytes (the name and the browser's claim are not
    trusted); refuses anything but JPEG, PNG and PDF, and anything over the size limit."""
    limit = settings.KONGCHUO_ATTACHMENT_MAX_BYTES
    if upload.size > limit:
        raise WorkflowError(
            f"文件过大（上限 {limit // (1024 * 1024)} MB）/ file too large (limit {limit // (1024 * 1024)} MB)")
    if upload.size == 0:
        raise WorkflowError("文件为空 / the file is empty")
    upload.seek(0)
    head = upload.read(16)
    upload.seek(0)
    for magic, mime in _MAGIC:
        if head.startswith(magic):
            return mime
    raise WorkflowError("证明材料只能是 JPG、PNG 图片或 PDF 文件 / evidence must be a JPG, PNG or PDF file")


def _evidence_save(files: Sequence, *, user, school=None, township=None, **parents) -> list[Evidence]:
    if len(files) > MAX_FILES:
        raise WorkflowError(f"一次最多上传 {MAX_FILES} 个文件 / at most {MAX_FILES} files at once")
    if school is not None and township is None:
        township = school.township
    saved = []
    for upload in files:
        mime = evidence_sniff(upload)
        digest = hashlib.sha256()
        for chunk in upload.chunks():
            digest.update(chunk)
        upload.seek(0)
        ev = Evidence(token=secrets.token_hex(16), mime=mime, size=upload.size,
                      sha256=digest.hexdigest(), original_name=(upload.name or "file")[-120:],
                      school=school, township=township, uploaded_by=user, **parents)
        ev.file.save(f"{ev.token}.{ev.extension}", ContentFile(upload.read()), save=False)
        ev.save()
        saved.append(ev)
    return saved


# --------------------------------------------------------------------------- alerts


def _alert_route(alert: Alert):
    school = alert.school
    return school, (school.township if school else alert.township)


@transaction.atomic
def alert_confirm(*, alert: Alert, user: User, reason: str = RetrievalCase.Reason.OTHER,
                  dropout_date: dt.date | None = None, note: str = "") -> AlertDecision:
    """Confirm a suspected dropout. For a child (dropout rules) this opens a 劝返 case — or
    joins the child's active case — and marks the student 疑似辍学."""
    alert = _lock(Alert, alert.pk)
    _require_scope(Alert.objects, user, alert.pk)
    if alert.status != Alert.Status.OPEN:
        raise WorkflowError("该预警已处理 / this alert has already been handled")
    if not sel.can_decide_alert(user, alert):
        raise PermissionDenied
    _not_future(dropout_date, "辍学日期")
    case = None
    if sel.alert_opens_case(alert):
        student = alert.student
        if student is None:
            student = Student.objects.filter(id_number=alert.subject).first()
        school, township = _alert_route(alert)
        if school is None and student is not None:
            school, township = student.school, student.school.township
        if township is None and student is not None:
            township = student.hukou_township
        case = _case_open_or_join(
            user=user, student=student, id_number=student.id_number if student else alert.subject,
            name=alert.name or (student.name if student else ""), school=school, township=township,
            reason=reason, dropout_date=dropout_date, note=note, source="alert")
        case.alerts.add(alert)
    decision = AlertDecision.objects.create(
        alert=alert, kind=AlertDecision.Kind.CONFIRM, note=note, decided_by=user,
        decided_level=sel.level_of(user), case=case)
    alert.status = Alert.Status.CONFIRMED
    alert.closed_at = timezone.now()
    alert.save(update_fields=["status", "closed_at"])
    audit_record(action="alert_confirm", user=user, obj=alert,
                 detail={"case": case.pk if case else None})
    return decision


def _case_open_or_join(*, user, student, id_number, name, school, township, reason, dropout_date,
                       note, source) -> RetrievalCase:
    existing = (RetrievalCase.objects.select_for_update().order_by("pk")
                .filter(id_number=id_number).exclude(status=RetrievalCase.Status.CLOSED).first())
    if existing is not None:
        return existing
    if reason not in RetrievalCase.Reason.values:
        raise WorkflowError("请选择辍学原因 / choose a dropout reason")
    try:
        with transaction.atomic():
            case = RetrievalCase(
                student=student, id_number=id_number, name=name, school=school, township=township,
                grade=student.grade if student else None, reason=reason, reason_note=note,
                dropout_date=dropout_date, source=source, opened_by=user)
            case._history_user = user
            case.save()
    except IntegrityError:
        # Someone opened this child's case a moment ago (one active case per child).
        return RetrievalCase.objects.select_for_update().get(
            id_number=id_number, status__in=[s for s in RetrievalCase.Status.values if s != "closed"])
    if student is not None and student.status not in (Student.Status.SUSPECTED,
                                                      Student.Status.DROPPED_OUT):
        on = min(dropout_date or local_today(), local_today())
        if not StatusChange.objects.filter(student=student, kind=StatusChange.Kind.SUSPECTED,
                                           effective_date=on).exists():
            student_change_status(student=student, kind=StatusChange.Kind.SUSPECTED,
                                  effective_date=on, user=user, source="retrieval",
                                  reason=f"劝返立案 #{case.pk}")
    return case


@transaction.atomic
def alert_dismiss(*, alert: Alert, user: User, reason: str, note: str = "",
                  files: Sequence = ()) -> AlertDecision:
    """Dismiss an alert with a typed reason and evidence. A school's dismissal waits for its
    township center school (the county for a county-direct school); a township's for the
    county; the county's stands."""
    alert = _lock(Alert, alert.pk)
    _require_scope(Alert.objects, user, alert.pk)
    if alert.status != Alert.Status.OPEN:
        raise WorkflowError("该预警已处理 / this alert has already been handled")
    if not sel.can_decide_alert(user, alert):
        raise PermissionDenied
    if reason not in DismissReason.values:
        raise WorkflowError("请选择排除原因 / choose a reason")
    if reason in DISMISS_NEEDS_EVIDENCE and not files:
        raise WorkflowError(f"排除原因为“{DismissReason(reason).label}”时须上传证明材料 / "
                            "this reason needs a proof document")
    if reason in DISMISS_NEEDS_NOTE and not note.strip():
        raise WorkflowError("请填写说明 / please explain")
    level = sel.level_of(user)
    needs_review = level != Role.COUNTY
    decision = AlertDecision.objects.create(
        alert=alert, kind=AlertDecision.Kind.DISMISS, reason=reason, note=note.strip(),
        decided_by=user, decided_level=level,
        review_level=sel.level_above(level, alert.school) if needs_review else "",
        review_status=(AlertDecision.Review.PENDING if needs_review
                       else AlertDecision.Review.NOT_REQUIRED))
    school, township = _alert_route(alert)
    _evidence_save(files, user=user, school=school, township=township, decision=decision)
    alert.status = Alert.Status.DISMISSED
    alert.closed_at = timezone.now()
    alert.save(update_fields=["status", "closed_at"])
    audit_record(action="alert_dismiss", user=user, obj=alert, detail={"reason": reason})
    return decision


REOPEN_DAYS = 7


@transaction.atomic
def decision_review(*, decision: AlertDecision, user: User, uphold: bool,
                    note: str = "") -> AlertDecision:
    """The level above checks a dismissal. Overturned, the alert re-opens for a new decision;
    the dismissal stays on file as overturned."""
    # Lock order everywhere: the alert (or case) first, then its child rows.
    alert = _lock(Alert, decision.alert_id)
    _require_scope(Alert.objects, user, alert.pk)
    decision = _lock(AlertDecision, decision.pk)
    if decision.review_status != AlertDecision.Review.PENDING:
        raise WorkflowError("该排除申请已复核 / already reviewed")
    if not sel.can_review_decision(user, decision):
        raise PermissionDenied
    if not uphold and not note.strip():
        raise WorkflowError("驳回排除须填写复核意见 / say why the dismissal is wrong")
    decision.review_status = (AlertDecision.Review.UPHELD if uphold
                              else AlertDecision.Review.OVERTURNED)
    decision.reviewed_by = user
    decision.reviewed_at = timezone.now()
    decision.review_note = note.strip()
    decision.save(update_fields=["review_status", "reviewed_by", "reviewed_at", "review_note"])
    if not uphold:
        alert.status = Alert.Status.OPEN
        alert.closed_at = None
        alert.due_date = local_today() + dt.timedelta(days=REOPEN_DAYS)
        alert.save(update_fields=["status", "closed_at", "due_date"])
    audit_record(action="alert_review", user=user, obj=alert,
                 detail={"decision": decision.pk, "upheld": uphold})
    return decision


# --------------------------------------------------------------------------- cases

CASE_EDITABLE = ("dropout_date", "reason", "reason_note", "teacher_name", "head_teacher_name",
                 "village_cadre_name", "township_official_name")


def _lock_case(case: RetrievalCase, version: int | None, user) -> RetrievalCase:
    case = _lock(RetrievalCase, case.pk)
    _require_scope(RetrievalCase.objects, user, case.pk)
    _check_version(case, version)
    return case


@transaction.atomic
def case_update(*, case: RetrievalCase, user: User, version: int, **fields) -> RetrievalCase:
    """Edit the case's facts (dropout date, reason, responsible people)."""
    case = _lock_case(case, version, user)
    if not sel.can_work_case(user, case):
        raise PermissionDenied
    unknown = set(fields) - set(CASE_EDITABLE)
    if unknown:
        raise ValueError(f"not editable: {sorted(unknown)}")
    _not_future(fields.get("dropout_date"), "辍学日期")
    changed = [k for k, v in fields.items() if getattr(case, k) != v]
    for k in changed:
        setattr(case, k, fields[k])
    if changed:
        _bump(case, [*changed, "updated_at"], user)
    return case


@transaction.atomic
def case_add_attempt(*, case: RetrievalCase, user: User, attempted_on: dt.date, people: str,
                     method: str, result: str, outcome: str) -> PersuasionAttempt:
    case = _lock_case(case, None, user)
    if not sel.can_work_case(user, case) or case.status == RetrievalCase.Status.CLOSURE_REQUESTED:
        raise PermissionDenied
    _not_future(attempted_on, "劝返日期")
    if method not in PersuasionAttempt.Method.values or outcome not in PersuasionAttempt.Outcome.values:
        raise WorkflowError("劝返方式或结果无效 / invalid method or outcome")
    if not people.strip() or not result.strip():
        raise WorkflowError("请填写劝返人员和劝返情况 / who went and what happened are required")
    attempt = PersuasionAttempt.objects.create(
        case=case, attempted_on=attempted_on, people=people.strip(), method=method,
        result=result.strip(), outcome=outcome, recorded_by=user)
    return attempt


# Placement → the status change it applies to the student.
PLACEMENT_KIND = {
    RetrievalCase.Placement.REGULAR: StatusChange.Kind.RETURNED,
    RetrievalCase.Placement.HOME_TEACHING: StatusChange.Kind.HOME_TEACHING,
    RetrievalCase.Placement.SPECIAL_SCHOOL: StatusChange.Kind.TRANSFER_OUT,
    RetrievalCase.Placement.VOCATIONAL: StatusChange.Kind.VOCATIONAL,
    RetrievalCase.Placement.TRANSFER: StatusChange.Kind.TRANSFER_OUT,
}


@transaction.atomic
def case_place(*, case: RetrievalCase, user: User, version: int, placement: str,
               placement_date: dt.date, placement_school: School | None = None,
               to_county: str = "", to_school_name: str = "", note: str = "") -> RetrievalCase:
    """Persuasion worked: record where the child goes and apply the student's status change."""
    case = _lock_case(case, version, user)
    if not sel.can_work_case(user, case) or case.status not in (RetrievalCase.Status.OPEN,
                                                                RetrievalCase.Status.ESCALATED):
        raise PermissionDenied
    if case.placement:
        raise WorkflowError("该案件已安置 / this child is already placed")
    if placement not in RetrievalCase.Placement.values:
        raise WorkflowError("请选择安置方式 / choose a placement")
    _not_future(placement_date, "安置日期")
    if placement == RetrievalCase.Placement.SPECIAL_SCHOOL and (
            placement_school is None or placement_school.kind != School.Kind.SPECIAL):
        raise WorkflowError("送特教学校须选择特殊教育学校 / choose the special-education school")
    if placement == RetrievalCase.Placement.TRANSFER and placement_school is None and not (
            to_county.strip() and to_school_name.strip()):
        raise WorkflowError("转学须填写转入学校 / the receiving school is required")
    if case.student_id:
        kind = PLACEMENT_KIND[placement]
        to_school = placement_school if kind == StatusChange.Kind.TRANSFER_OUT else None
        if StatusChange.objects.filter(student_id=case.student_id, kind=kind,
                                       effective_date=placement_date).exists():
            raise WorkflowError("该学生当天已有相同的学籍变动 / the same status change exists that day")
        student_change_status(
            student=case.student, kind=kind, effective_date=placement_date, user=user,
            to_school=to_school, to_county=to_county.strip(), to_school_name=to_school_name.strip(),
            reason=f"劝返安置 #{case.pk} {RetrievalCase.Placement(placement).label}", source="retrieval")
    case.placement = placement
    case.placement_date = placement_date
    case.placement_school = placement_school
    case.placement_note = note.strip()[:200]
    case.placed_by = user
    _bump(case, ["placement", "placement_date", "placement_school", "placement_note", "placed_by",
                 "updated_at"], user)
    audit_record(action="case_place", user=user, obj=case, detail={"placement": placement})
    return case


@transaction.atomic
def case_escalate(*, case: RetrievalCase, user: User, version: int, note: str,
                  deadline: dt.date) -> Escalation:
    """劝返无效: report to the township government (属地政府/管委) with a deadline."""
    case = _lock_case(case, version, user)
    if not sel.can_escalate(user, case):
        raise PermissionDenied
    if not case.attempts.filter(outcome=PersuasionAttempt.Outcome.FAILED).exists():
        raise WorkflowError("须先有“劝返无效”的劝返记录 / record a failed persuasion attempt first")
    if deadline <= local_today():
        raise WorkflowError("办理期限须晚于今天 / the deadline must be after today")
    if not note.strip():
        raise WorkflowError("请填写情况说明 / describe the case")
    escalation = Escalation(case=case, township_id=case.township_id, note=note.strip(),
                            deadline=deadline, escalated_by=user)
    escalation._history_user = user
    escalation.save()
    case.status = RetrievalCase.Status.ESCALATED
    _bump(case, ["status", "updated_at"], user)
    audit_record(action="case_escalate", user=user, obj=case, detail={"deadline": str(deadline)})
    return escalation


@transaction.atomic
def escalation_answer(*, escalation: Escalation, user: User, measure: str, measure_date: dt.date,
                      note: str, notice_number: str = "", return_by: dt.date | None = None,
                      files: Sequence = ()) -> Escalation:
    """The township government records the legal measure it took."""
    case = _lock_case(escalation.case, None, user)
    escalation = _lock(Escalation, escalation.pk)
    if not sel.can_answer_escalation(user, escalation):
        raise PermissionDenied
    if measure not in Escalation.Measure.values:
        raise WorkflowError("请选择采取的措施 / choose the measure taken")
    _not_future(measure_date, "措施日期")
    if not note.strip():
        raise WorkflowError("请填写处置情况 / describe what was done")
    escalation.measure = measure
    escalation.measure_date = measure_date
    escalation.measure_note = note.strip()
    escalation.notice_number = notice_number.strip()
    escalation.return_by = return_by
    escalation.status = Escalation.Status.ANSWERED
    escalation.answered_by = user
    escalation.answered_at = timezone.now()
    escalation._history_user = user
    escalation.save()
    _evidence_save(files, user=user, school=case.school, township=case.township, case=case,
                   escalation=escalation)
    audit_record(action="escalation_answer", user=user, obj=case, detail={"measure": measure})
    return escalation


@transaction.atomic
def case_request_closure(*, case: RetrievalCase, user: User, version: int, category: str,
                         note: str, effective_date: dt.date, files: Sequence = ()) -> ClosureRequest:
    """Ask for 销号. Needs evidence, and approval a level up (see
    `selectors.closure_approver_level`)."""
    case = _lock_case(case, version, user)
    if not sel.can_request_closure(user, case):
        raise PermissionDenied
    if category not in RetrievalCase.Closure.values:
        raise WorkflowError("请选择销号类别 / choose a closure category")
    if not files and not case.evidence.filter(closure__isnull=True, escalation__isnull=True).exists():
        raise WorkflowError("销号须上传证明材料 / closing a case needs evidence")
    if not note.strip():
        raise WorkflowError("请填写销号说明 / explain the closure")
    _not_future(effective_date, "生效日期")
    if case.escalations.filter(status=Escalation.Status.PENDING).exists():
        raise WorkflowError("属地政府尚未处置，暂不能销号 / the township government has not answered yet")
    if category == RetrievalCase.Closure.RETURNED and not case.placement:
        raise WorkflowError("“已复学”销号须先登记安置 / record the placement before closing as returned")
    level = sel.level_of(user)
    closure = ClosureRequest.objects.create(
        case=case, category=category, note=note.strip(), effective_date=effective_date,
        requested_by=user, requested_level=level,
        approver_level=sel.closure_approver_level(case, level))
    _evidence_save(files, user=user, school=case.school, township=case.township, case=case,
                   closure=closure)
    case.status = RetrievalCase.Status.CLOSURE_REQUESTED
    _bump(case, ["status", "updated_at"], user)
    audit_record(action="case_closure_request", user=user, obj=case, detail={"category": category})
    return closure


# Closure category → the status change applied on approval (None: the record only).
# 已复学 was applied by the placement. 信息错误 withdraws the 疑似辍学 mark with a row of its
# own kind (the child never left: no 复学 row, no return counted anywhere); 超龄 and 失踪失联
# leave the child out of school, so the student becomes 辍学 rather than staying 疑似 for ever.
CLOSURE_KIND = {
    RetrievalCase.Closure.DATA_ERROR: StatusChange.Kind.SUSPICION_VOID,
    RetrievalCase.Closure.DEFERRED: StatusChange.Kind.DEFER,
    RetrievalCase.Closure.ABROAD: StatusChange.Kind.ABROAD,
    RetrievalCase.Closure.ELSEWHERE: StatusChange.Kind.OUT_OF_COUNTY,
    RetrievalCase.Closure.DECEASED: StatusChange.Kind.DEATH,
    RetrievalCase.Closure.OVER_AGE: StatusChange.Kind.DROPOUT,
    RetrievalCase.Closure.MISSING: StatusChange.Kind.DROPOUT,
}


def _apply_closure_status(case: RetrievalCase, closure: ClosureRequest, user: User) -> None:
    kind = CLOSURE_KIND.get(closure.category)
    student = case.student
    if kind is None or student is None:
        return
    restore = ""
    if kind == StatusChange.Kind.SUSPICION_VOID:
        if student.status != Student.Status.SUSPECTED:
            return  # nothing to withdraw
        restore = _status_before_suspicion(student)
    if StatusChange.objects.filter(student=student, kind=kind,
                                   effective_date=closure.effective_date).exists():
        return
    student_change_status(
        student=student, kind=kind, effective_date=closure.effective_date, user=user,
        reason=f"销号 #{case.pk} {closure.get_category_display()}", source="retrieval",
        restore_status=restore)


def _status_before_suspicion(student: Student) -> str:
    """The status the latest 疑似辍学 mark moved the child from (送教上门, 休学…), or 在读."""
    before = (StatusChange.objects.filter(student=student, kind=StatusChange.Kind.SUSPECTED)
              .exclude(from_status__in=("", Student.Status.SUSPECTED, Student.Status.DROPPED_OUT))
              .order_by("-effective_date", "-id").values_list("from_status", flat=True).first())
    return before or Student.Status.ENROLLED


@transaction.atomic
def closure_decide(*, closure: ClosureRequest, user: User, approve: bool,
                   note: str = "") -> ClosureRequest:
    """Approve (销号) or send back a closure request. The approver is never the requester."""
    case = _lock_case(closure.case, None, user)
    closure = _lock(ClosureRequest, closure.pk)
    if closure.status != ClosureRequest.Status.PENDING:
        raise WorkflowError("该销号申请已审批 / already decided")
    if not sel.can_decide_closure(user, closure):
        raise PermissionDenied
    if not approve and not note.strip():
        raise WorkflowError("退回须填写审批意见 / say why it is sent back")
    closure.status = ClosureRequest.Status.APPROVED if approve else ClosureRequest.Status.REJECTED
    closure.decided_by = user
    closure.decided_at = timezone.now()
    closure.decision_note = note.strip()
    closure.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
    if approve:
        case.status = RetrievalCase.Status.CLOSED
        case.closure_category = closure.category
        case.closed_at = closure.decided_at
        case.closed_by = user
        _bump(case, ["status", "closure_category", "closed_at", "closed_by", "updated_at"], user)
        _apply_closure_status(case, closure, user)
    else:
        case.status = (RetrievalCase.Status.ESCALATED if case.escalations.exists()
                       else RetrievalCase.Status.OPEN)
        _bump(case, ["status", "updated_at"], user)
    audit_record(action="case_closure_decide", user=user, obj=case, detail={"approved": approve})
    return closure


@transaction.atomic
def case_add_evidence(*, case: RetrievalCase, user: User, files: Sequence) -> list[Evidence]:
    """Attach proof to the case itself (e.g. 复学证明 ahead of the closure request)."""
    case = _lock_case(case, None, user)
    if not sel.can_work_case(user, case):
        raise PermissionDenied
    if not files:
        raise WorkflowError("请选择文件 / choose a file")
    return _evidence_save(files, user=user, school=case.school, township=case.township, case=case)


# --------------------------------------------------------------------------- feedback

FEEDBACK_NEEDS_EVIDENCE = frozenset({
    FeedbackItem.Result.TRANSFERRED, FeedbackItem.Result.OUT_OF_COUNTY,
    FeedbackItem.Result.VOCATIONAL, FeedbackItem.Result.DEFERRED,
})


@transaction.atomic
def feedback_answer(*, item: FeedbackItem, user: User, version: int, result: str,
                    explanation: str, verified_on: dt.date, files: Sequence = ()) -> FeedbackItem:
    """The verified answer to one row of a province/city feedback list. A 确属辍学 answer
    opens (or joins) the child's 劝返 case."""
    item = _lock(FeedbackItem, item.pk)
    _require_scope(FeedbackItem.objects, user, item.pk)
    _check_version(item, version)
    if not sel.can_answer_feedback(user, item):
        raise PermissionDenied
    if result not in FeedbackItem.Result.values:
        raise WorkflowError("请选择核查结果 / choose a result")
    if not explanation.strip():
        raise WorkflowError("请填写核查说明 / explain the result")
    _not_future(verified_on, "核查日期")
    if result in FEEDBACK_NEEDS_EVIDENCE and not files and not item.evidence.exists():
        raise WorkflowError(f"核查结果为“{FeedbackItem.Result(result).label}”时须上传证明材料 / "
                            "this result needs a proof document")
    before = {"result": item.result, "explanation": item.explanation,
              "verified_by": item.verified_by_id, "verified_on": str(item.verified_on or "")}
    item.result = result
    item.explanation = explanation.strip()
    item.verified_by = user
    item.verified_on = verified_on
    item.version += 1
    item.save(update_fields=["result", "explanation", "verified_by", "verified_on", "version"])
    _evidence_save(files, user=user, school=item.school, township=item.township, feedback_item=item)
    case = None
    if result == FeedbackItem.Result.DROPOUT and item.id_number:
        student = item.student
        school = student.school if student else item.school
        case = _case_open_or_join(user=user, student=student, id_number=item.id_number,
                                  name=student.name if student else item.name, school=school,
                                  township=school.township if school else item.township,
                                  reason=RetrievalCase.Reason.OTHER, dropout_date=None,
                                  note=f"反馈名单核查：{item.batch.title}", source="feedback")
    _feedback_alerts_settle(item=item, user=user, case=case)
    audit_record(action="feedback_answer", user=user, obj=item,
                 detail={"before": before, "result": result})
    return item


def _feedback_alerts_settle(*, item: FeedbackItem, user: User, case: RetrievalCase | None) -> None:
    """The answer settles the row's open verification alert at once (the sweep would on its next
    run): confirmed and joined to the case for 确属辍学, resolved otherwise."""
    alerts = list(Alert.objects.select_for_update().order_by("pk").filter(
        rule=Alert.Rule.FEEDBACK, status=Alert.Status.OPEN, detail__item=item.pk))
    now = timezone.now()
    for alert in alerts:
        alert.status = Alert.Status.CONFIRMED if case else Alert.Status.RESOLVED
        alert.closed_at = now
        alert.save(update_fields=["status", "closed_at"])
        if case:
            case.alerts.add(alert)
            AlertDecision.objects.create(alert=alert, kind=AlertDecision.Kind.CONFIRM, case=case,
                                         note=item.explanation, decided_by=user,
                                         decided_level=sel.level_of(user))


ANSWER_COLUMNS = ("核查结果", "核查说明", "证明材料", "核查人", "核查日期")


def feedback_export(*, batch: FeedbackBatch, user: User, out: IO[bytes] | str,
                    items: Iterable[FeedbackItem], full_ids: bool = False) -> int:
    """Write the batch back in the issuer's own column layout plus the answer columns.

    `items` come scoped from the view. Every ID-shaped value (any cell, the explanation, the
    evidence names) is masked unless `full_ids` (county users returning the list to the
    province); either way the export is audited.
    """
    from kongchuo.portal.xlsxout import write_official_table

    columns = list(batch.columns) or ["序号", "姓名", "身份证件号", "学校名称", "问题类型"]
    fallback = {"序号": "seq", "姓名": "name", "身份证件号": "id_number", "学校名称": "school_name",
                "问题类型": "problem"}
    n = 0

    def rows():
        nonlocal n
        for item in items:
            n += 1
            values = []
            for col in columns:
                if col in item.original:
                    value = item.original[col]
                else:
                    value = getattr(item, fallback[col]) if col in fallback else ""
                values.append(value)
            values += [
                item.get_result_display() if item.result else "",
                item.explanation,
                "；".join(e.original_name for e in item.evidence.all()),
                (item.verified_by.get_full_name() or item.verified_by.username) if item.verified_by else "",
                item.verified_on,
            ]
            # By shape: the issuer's every cell, the answer and the evidence names (issue 15).
            yield values if full_ids else [mask_ids_in_value(v) for v in values]

    # The official layout; the issuer's own 序号 column, if it has one, numbers the rows.
    write_official_table(out, title=f"{batch.title}（核查结果）", unit=user.scope_label,
                         fill_date=local_today(), headers=[*columns, *ANSWER_COLUMNS], rows=rows(),
                         sheet_name="核查结果", text_columns=range(len(columns)),
                         number_rows="序号" not in columns)
    audit_record(action="feedback_export", user=user, obj=batch,
                 detail={"rows": n, "full_ids": full_ids})
    return n


# --------------------------------------------------------------------------- 督查


def _require_county(user) -> None:
    if sel.level_of(user) != Role.COUNTY:
        raise PermissionDenied


@transaction.atomic
def visit_plan(*, user: User, title: str, section: str, planned_on: dt.date, township=None,
               school=None) -> SupervisionVisit:
    _require_county(user)
    if not title.strip() or not section.strip():
        raise WorkflowError("请填写督查事项和股室 / title and section are required")
    if school is not None and township is None:
        township = school.township
    return SupervisionVisit.objects.create(
        title=title.strip(), section=section.strip(), planned_on=planned_on, township=township,
        school=school, planned_by=user)


def _visit_scope(qs, visit: SupervisionVisit, school_field="school", township_field="township"):
    if visit.school_id:
        return qs.filter(**{f"{school_field}_id": visit.school_id})
    if visit.township_id:
        return qs.filter(Q(**{f"{school_field}__township_id": visit.township_id})
                         | Q(**{f"{school_field}__isnull": True, f"{township_field}_id": visit.township_id}))
    return qs


def _weighted_draw(rows: list[dict], n: int, rng: random.Random) -> list[dict]:
    """Weighted sampling without replacement (Efraimidis–Spirakis): key = u^(1/w)."""
    keyed = [(rng.random() ** (1.0 / r["weight"]), r) for r in rows]
    keyed.sort(key=lambda kr: kr[0], reverse=True)
    return [r for _, r in keyed[:n]]


def _population(qs, student_path: str) -> list[dict]:
    aid = AidRecord.objects.filter(student_id=OuterRef(f"{student_path}_id"))
    rows = []
    for r in (qs.annotate(aid=Exists(aid))
              .values("pk", f"{student_path}__is_poor", f"{student_path}__is_monitored",
                      f"{student_path}__is_dibao", f"{student_path}__is_tekun",
                      f"{student_path}__disability_category", f"{student_path}__school__kind",
                      f"{student_path}__status", "aid").order_by("pk")):
        p = f"{student_path}__"
        poor = any(r[p + k] for k in ("is_poor", "is_monitored", "is_dibao", "is_tekun"))
        special = bool(r[p + "disability_category"]) or r[p + "school__kind"] == School.Kind.SPECIAL \
            or r[p + "status"] == Student.Status.HOME_TEACHING
        reasons = [label for flag, label in ((poor, "困难家庭"), (r["aid"], "资助"), (special, "特教"))
                   if flag]
        rows.append({"pk": r["pk"], "weight": 1.0 + 2 * poor + 1 * bool(r["aid"]) + 2 * special,
                     "reasons": "、".join(reasons)})
    return rows


@transaction.atomic
def visit_draw_sample(*, visit: SupervisionVisit, user: User, n_cases: int = 10,
                      n_alerts: int = 10, seed: int | None = None) -> list[SupervisionSample]:
    """Draw closed cases and dismissed alerts of the visit's scope to re-check, weighted toward
    poverty-family children (×3), aid recipients (×2) and special education (×3). The seed is
    kept on the visit, so the draw can be shown to be fair and repeated."""
    _require_county(user)
    visit = _lock(SupervisionVisit, visit.pk)
    if visit.samples.exists():
        raise WorkflowError("本次督查已抽样 / this visit already has its sample")
    if n_cases < 0 or n_alerts < 0 or n_cases + n_alerts == 0 or n_cases + n_alerts > 200:
        raise WorkflowError("抽样数量应为 1–200 / sample size must be 1–200")
    seed = seed if seed is not None else secrets.randbits(48)
    rng = random.Random(seed)
    cases = _visit_scope(RetrievalCase.objects.filter(status=RetrievalCase.Status.CLOSED), visit)
    alerts = _visit_scope(Alert.objects.filter(status=Alert.Status.DISMISSED), visit)
    samples = []
    for r in _weighted_draw(_population(cases, "student"), n_cases, rng):
        samples.append(SupervisionSample(visit=visit, case_id=r["pk"], weight=r["weight"],
                                         weight_reasons=r["reasons"]))
    for r in _weighted_draw(_population(alerts, "student"), n_alerts, rng):
        samples.append(SupervisionSample(visit=visit, alert_id=r["pk"], weight=r["weight"],
                                         weight_reasons=r["reasons"]))
    SupervisionSample.objects.bulk_create(samples)
    visit.sample_seed = seed
    _bump(visit, ["sample_seed"], user)
    audit_record(action="supervision_sample", user=user, obj=visit,
                 detail={"seed": seed, "cases": n_cases, "alerts": n_alerts, "drawn": len(samples)})
    return samples


@transaction.atomic
def sample_check(*, sample: SupervisionSample, user: User, result: str, note: str = "") -> SupervisionSample:
    _require_county(user)
    sample = _lock(SupervisionSample, sample.pk)
    if result not in (SupervisionSample.Result.OK, SupervisionSample.Result.PROBLEM):
        raise WorkflowError("请选择复查结果 / choose a result")
    if result == SupervisionSample.Result.PROBLEM and not note.strip():
        raise WorkflowError("发现问题须填写说明 / describe the problem")
    sample.result = result
    sample.note = note.strip()
    sample.checked_by = user
    sample.checked_at = timezone.now()
    sample.save(update_fields=["result", "note", "checked_by", "checked_at"])
    return sample


@transaction.atomic
def finding_record(*, visit: SupervisionVisit, user: User, kind: str, description: str,
                   sample: SupervisionSample | None = None, school: School | None = None,
                   teacher_name: str = "") -> SupervisionFinding:
    """Record a problem. A finding that a teacher's conduct drove a child out (规范办学行为)
    names the teacher and is counted on the supervision page."""
    _require_county(user)
    if kind not in SupervisionFinding.Kind.values:
        raise WorkflowError("请选择问题类型 / choose a kind")
    if not description.strip():
        raise WorkflowError("请填写问题描述 / describe the finding")
    if kind == SupervisionFinding.Kind.TEACHER_CONDUCT and not teacher_name.strip():
        raise WorkflowError("请填写涉及教师 / name the teacher concerned")
    if sample is not None and sample.visit_id != visit.pk:
        raise WorkflowError("抽查对象不属于本次督查 / the sample belongs to another visit")
    student = None
    township = None
    if sample is not None:
        subject = sample.case if sample.case_id else sample.alert
        student = subject.student
        school = school or subject.school
        township = subject.township
    school = school or visit.school
    if school is not None:
        township = school.township
    township = township or visit.township
    return SupervisionFinding.objects.create(
        visit=visit, sample=sample, kind=kind, description=description.strip(), school=school,
        township=township, student=student, teacher_name=teacher_name.strip(), recorded_by=user)


@transaction.atomic
def rectification_issue(*, finding: SupervisionFinding, user: User, requirement: str,
                        deadline: dt.date) -> RectificationOrder:
    _require_county(user)
    if not requirement.strip():
        raise WorkflowError("请填写整改要求 / state what must be fixed")
    if deadline <= local_today():
        raise WorkflowError("整改期限须晚于今天 / the deadline must be after today")
    if finding.school_id is None and finding.township_id is None:
        raise WorkflowError("问题未指明单位，无法下发整改 / the finding names no school or township")
    order = RectificationOrder(finding=finding, school=finding.school, township=finding.township,
                               requirement=requirement.strip(), deadline=deadline, issued_by=user)
    order._history_user = user
    order.save()
    return order


@transaction.atomic
def rectification_report(*, order: RectificationOrder, user: User, version: int, report: str,
                         files: Sequence = ()) -> RectificationOrder:
    order = _lock(RectificationOrder, order.pk)
    _require_scope(RectificationOrder.objects, user, order.pk)
    _check_version(order, version)
    if not sel.can_report_rectification(user, order):
        raise PermissionDenied
    if not report.strip():
        raise WorkflowError("请填写整改情况 / describe what was fixed")
    order.report = report.strip()
    order.reported_by = user
    order.reported_at = timezone.now()
    order.status = RectificationOrder.Status.REPORTED
    _bump(order, ["report", "reported_by", "reported_at", "status"], user)
    _evidence_save(files, user=user, school=order.school, township=order.township,
                   rectification=order)
    return order


@transaction.atomic
def rectification_close(*, order: RectificationOrder, user: User, accept: bool,
                        note: str = "") -> RectificationOrder:
    """Accept the reported rectification (closed) or send it back (open again)."""
    _require_county(user)
    order = _lock(RectificationOrder, order.pk)
    if order.status != RectificationOrder.Status.REPORTED:
        raise WorkflowError("整改尚未反馈 / nothing reported yet")
    if not accept and not note.strip():
        raise WorkflowError("退回须填写意见 / say why it is sent back")
    order.close_note = note.strip()
    if accept:
        order.status = RectificationOrder.Status.CLOSED
        order.closed_by = user
        order.closed_at = timezone.now()
        _bump(order, ["status", "closed_by", "closed_at", "close_note"], user)
    else:
        order.status = RectificationOrder.Status.OPEN
        _bump(order, ["status", "close_note"], user)
    return order


@transaction.atomic
def visit_complete(*, visit: SupervisionVisit, user: User, visited_on: dt.date,
                   summary: str) -> SupervisionVisit:
    _require_county(user)
    visit = _lock(SupervisionVisit, visit.pk)
    _not_future(visited_on, "督查日期")
    if not summary.strip():
        raise WorkflowError("请填写督查小结 / write the summary")
    visit.visited_on = visited_on
    visit.summary = summary.strip()
    visit.status = SupervisionVisit.Status.DONE
    _bump(visit, ["visited_on", "summary", "status"], user)
    return visit


# --------------------------------------------------------------------------- notifications


def inbox_digest_send(*, as_of: dt.date | None = None) -> int:
    """E-mail each active user with an address a summary of what is due at their scope
    (console backend by default). Returns the number of mails sent."""
    from django.core.mail import send_mail

    as_of = as_of or local_today()
    sent = 0
    users = User.objects.filter(is_active=True).exclude(email="").exclude(role="").select_related(
        "school", "township")
    for user in users:
        sections = [s for s in inbox_for(user, as_of, items=0) if s.count]
        if not sections:
            continue
        body = "\n".join(f"{s.title}：{s.count}" for s in sections)
        send_mail(f"{settings.KONGCHUO_COUNTY_NAME}控辍保学平台待办（{as_of:%Y-%m-%d}）", body,
                  None, [user.email])
        sent += 1
    return sent

