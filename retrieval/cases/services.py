"""Writes of the 劝返 case: opening (from a confirmed alert or a feedback answer), edits,
persuasion attempts, placement, escalation to the township government, 销号 and its approval.

See `retrieval.workflow` for what every step shares (atomic, locked, re-scoped, signed).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kongchuo.access.audit import audit_record
from kongchuo.calendar.schoolyear import today as local_today
from retrieval.cases.selectors import (
    can_answer_escalation,
    can_decide_closure,
    can_escalate,
    can_request_closure,
    can_work_case,
    closure_approver_level,
)
from retrieval.evidence.services import evidence_save
from retrieval.models import ClosureRequest, Escalation, Evidence, PersuasionAttempt, RetrievalCase
from retrieval.workflow import (
    WorkflowError,
    check_version,
    level_of,
    not_future,
    require_scope,
    row_lock,
    version_bump,
)
from students.models import School, StatusChange, Student, Township, User
from students.services import student_change_status

CASE_EDITABLE = ("dropout_date", "reason", "reason_note", "teacher_name", "head_teacher_name",
                 "village_cadre_name", "township_official_name")


def case_lock(case: RetrievalCase, version: int | None, user: User) -> RetrievalCase:
    """The case locked for a step, re-scoped for `user`, at the version the form was opened with
    (None: any). Every step on a case or its child rows locks the case first."""
    case = row_lock(RetrievalCase, case.pk)
    require_scope(RetrievalCase.objects, user, case.pk)
    check_version(case, version)
    return case


def case_open_or_join(*, user: User, student: Student | None, id_number: str, name: str,
                       school: School | None, township: Township | None, reason: str,
                       dropout_date: dt.date | None, note: str, source: str) -> RetrievalCase:
    """The child's active case, or a new one (marking the student 疑似辍学). Called inside the
    step that found the dropout (a confirmed alert, a 确属辍学 feedback answer), which holds the
    transaction and has checked the user may take it; the child's active case is locked."""
    existing = (RetrievalCase.objects.select_for_update().order_by("pk")
                .filter(id_number=id_number).exclude(status=RetrievalCase.Status.CLOSED).first())
    if existing is not None:
        return existing
    if reason not in RetrievalCase.Reason.values:
        raise WorkflowError(_("请选择辍学原因"))
    try:
        with transaction.atomic():
            case = RetrievalCase(
                student=student, id_number=id_number, name=name, school=school, township=township,
                grade=student.grade if student else None, reason=reason, reason_note=note,
                dropout_date=dropout_date, source=source, opened_by=user)
            case._history_user = user  # type: ignore[attr-defined]  # django-simple-history's author hook
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
def case_update(*, case: RetrievalCase, user: User, version: int, **fields: Any) -> RetrievalCase:
    """Edit the case's facts (dropout date, reason, responsible people)."""
    case = case_lock(case, version, user)
    if not can_work_case(user, case):
        raise PermissionDenied
    unknown = set(fields) - set(CASE_EDITABLE)
    if unknown:
        raise ValueError(f"not editable: {sorted(unknown)}")
    not_future(fields.get("dropout_date"), _("辍学日期"))
    changed = [k for k, v in fields.items() if getattr(case, k) != v]
    for k in changed:
        setattr(case, k, fields[k])
    if changed:
        version_bump(case, [*changed, "updated_at"], user)
    return case


@transaction.atomic
def case_add_attempt(*, case: RetrievalCase, user: User, attempted_on: dt.date, people: str,
                     method: str, result: str, outcome: str) -> PersuasionAttempt:
    case = case_lock(case, None, user)
    if not can_work_case(user, case) or case.status == RetrievalCase.Status.CLOSURE_REQUESTED:
        raise PermissionDenied
    not_future(attempted_on, _("劝返日期"))
    if method not in PersuasionAttempt.Method.values or outcome not in PersuasionAttempt.Outcome.values:
        raise WorkflowError(_("劝返方式或结果无效"))
    if not people.strip() or not result.strip():
        raise WorkflowError(_("请填写劝返人员和劝返情况"))
    attempt = PersuasionAttempt.objects.create(
        case=case, attempted_on=attempted_on, people=people.strip(), method=method,
        result=result.strip(), outcome=outcome, recorded_by=user)
    return attempt


# Placement → the status change it applies to the student.
PLACEMENT_KIND: dict[str, str] = {
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
    case = case_lock(case, version, user)
    if not can_work_case(user, case) or case.status not in (RetrievalCase.Status.OPEN,
                                                                RetrievalCase.Status.ESCALATED):
        raise PermissionDenied
    if case.placement:
        raise WorkflowError(_("该案件已安置"))
    if placement not in RetrievalCase.Placement.values:
        raise WorkflowError(_("请选择安置方式"))
    not_future(placement_date, _("安置日期"))
    if placement == RetrievalCase.Placement.SPECIAL_SCHOOL and (
            placement_school is None or placement_school.kind != School.Kind.SPECIAL):
        raise WorkflowError(_("送特教学校须选择特殊教育学校"))
    if placement == RetrievalCase.Placement.TRANSFER and placement_school is None and not (
            to_county.strip() and to_school_name.strip()):
        raise WorkflowError(_("转学须填写转入学校"))
    if case.student is not None:
        kind = PLACEMENT_KIND[placement]
        to_school = placement_school if kind == StatusChange.Kind.TRANSFER_OUT else None
        if StatusChange.objects.filter(student=case.student, kind=kind,
                                       effective_date=placement_date).exists():
            raise WorkflowError(_("该学生当天已有相同的学籍变动"))
        student_change_status(
            student=case.student, kind=kind, effective_date=placement_date, user=user,
            to_school=to_school, to_county=to_county.strip(), to_school_name=to_school_name.strip(),
            reason=f"劝返安置 #{case.pk} {RetrievalCase.Placement(placement).label}", source="retrieval")
    case.placement = placement
    case.placement_date = placement_date
    case.placement_school = placement_school
    case.placement_note = note.strip()[:200]
    case.placed_by = user
    version_bump(case, ["placement", "placement_date", "placement_school", "placement_note", "placed_by",
                 "updated_at"], user)
    audit_record(action="case_place", user=user, obj=case, detail={"placement": placement})
    return case


@transaction.atomic
def case_escalate(*, case: RetrievalCase, user: User, version: int, note: str,
                  deadline: dt.date) -> Escalation:
    """劝返无效: report to the township government (属地政府/管委) with a deadline."""
    case = case_lock(case, version, user)
    if not can_escalate(user, case):
        raise PermissionDenied
    if not case.attempts.filter(outcome=PersuasionAttempt.Outcome.FAILED).exists():
        raise WorkflowError(_("须先有“劝返无效”的劝返记录"))
    if deadline <= local_today():
        raise WorkflowError(_("办理期限须晚于今天"))
    if not note.strip():
        raise WorkflowError(_("请填写情况说明"))
    assert case.township_id is not None  # can_escalate refuses a case with no township
    escalation = Escalation(case=case, township_id=case.township_id, note=note.strip(),
                            deadline=deadline, escalated_by=user)
    escalation._history_user = user  # type: ignore[attr-defined]  # django-simple-history's author hook
    escalation.save()
    case.status = RetrievalCase.Status.ESCALATED
    version_bump(case, ["status", "updated_at"], user)
    audit_record(action="case_escalate", user=user, obj=case, detail={"deadline": str(deadline)})
    return escalation


@transaction.atomic
def escalation_answer(*, escalation: Escalation, user: User, measure: str, measure_date: dt.date,
                      note: str, notice_number: str = "", return_by: dt.date | None = None,
                      files: Sequence[UploadedFile] = ()) -> Escalation:
    """The township government records the legal measure it took."""
    case = case_lock(escalation.case, None, user)
    escalation = row_lock(Escalation, escalation.pk)
    if not can_answer_escalation(user, escalation):
        raise PermissionDenied
    if measure not in Escalation.Measure.values:
        raise WorkflowError(_("请选择采取的措施"))
    not_future(measure_date, _("措施日期"))
    if not note.strip():
        raise WorkflowError(_("请填写处置情况"))
    escalation.measure = measure
    escalation.measure_date = measure_date
    escalation.measure_note = note.strip()
    escalation.notice_number = notice_number.strip()
    escalation.return_by = return_by
    escalation.status = Escalation.Status.ANSWERED
    escalation.answered_by = user
    escalation.answered_at = timezone.now()
    escalation._history_user = user  # type: ignore[attr-defined]  # django-simple-history's author hook
    escalation.save()
    evidence_save(files, user=user, school=case.school, township=case.township, case=case,
                   escalation=escalation)
    audit_record(action="escalation_answer", user=user, obj=case, detail={"measure": measure})
    return escalation


@transaction.atomic
def case_request_closure(*, case: RetrievalCase, user: User, version: int, category: str,
                         note: str, effective_date: dt.date,
                         files: Sequence[UploadedFile] = ()) -> ClosureRequest:
    """Ask for 销号. Needs evidence, and approval a level up (see
    `selectors.closure_approver_level`)."""
    case = case_lock(case, version, user)
    if not can_request_closure(user, case):
        raise PermissionDenied
    if category not in RetrievalCase.Closure.values:
        raise WorkflowError(_("请选择销号类别"))
    if not files and not case.evidence.filter(closure__isnull=True, escalation__isnull=True).exists():
        raise WorkflowError(_("销号须上传证明材料"))
    if not note.strip():
        raise WorkflowError(_("请填写销号说明"))
    not_future(effective_date, _("生效日期"))
    if case.escalations.filter(status=Escalation.Status.PENDING).exists():
        raise WorkflowError(_("属地政府尚未处置，暂不能销号"))
    if category == RetrievalCase.Closure.RETURNED and not case.placement:
        raise WorkflowError(_("“已复学”销号须先登记安置"))
    level = level_of(user)
    assert level is not None  # can_request_closure admits staff levels only
    closure = ClosureRequest.objects.create(
        case=case, category=category, note=note.strip(), effective_date=effective_date,
        requested_by=user, requested_level=level,
        approver_level=closure_approver_level(case, level))
    evidence_save(files, user=user, school=case.school, township=case.township, case=case,
                   closure=closure)
    case.status = RetrievalCase.Status.CLOSURE_REQUESTED
    version_bump(case, ["status", "updated_at"], user)
    audit_record(action="case_closure_request", user=user, obj=case, detail={"category": category})
    return closure


# Closure category → the status change applied on approval (None: the record only).
# 已复学 was applied by the placement. 信息错误 withdraws the 疑似辍学 mark with a row of its
# own kind (the child never left: no 复学 row, no return counted anywhere); 超龄 and 失踪失联
# leave the child out of school, so the student becomes 辍学 rather than staying 疑似 for ever.
CLOSURE_KIND: dict[str, str] = {
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
    case = case_lock(closure.case, None, user)
    closure = row_lock(ClosureRequest, closure.pk)
    if closure.status != ClosureRequest.Status.PENDING:
        raise WorkflowError(_("该销号申请已审批"))
    if not can_decide_closure(user, closure):
        raise PermissionDenied
    if not approve and not note.strip():
        raise WorkflowError(_("退回须填写审批意见"))
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
        version_bump(case, ["status", "closure_category", "closed_at", "closed_by", "updated_at"], user)
        _apply_closure_status(case, closure, user)
    else:
        case.status = (RetrievalCase.Status.ESCALATED if case.escalations.exists()
                       else RetrievalCase.Status.OPEN)
        version_bump(case, ["status", "updated_at"], user)
    audit_record(action="case_closure_decide", user=user, obj=case, detail={"approved": approve})
    return closure


@transaction.atomic
def case_add_evidence(*, case: RetrievalCase, user: User,
                      files: Sequence[UploadedFile]) -> list[Evidence]:
    """Attach proof to the case itself (e.g. 复学证明 ahead of the closure request)."""
    case = case_lock(case, None, user)
    if not can_work_case(user, case):
        raise PermissionDenied
    if not files:
        raise WorkflowError(_("请选择文件"))
    return evidence_save(files, user=user, school=case.school, township=case.township, case=case)
