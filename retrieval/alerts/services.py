"""Writes of the alerts: confirm (opening or joining the child's 劝返 case), dismiss with a
reason and proof, and the review of a dismissal a level up.

See `retrieval.workflow` for what every step shares (atomic, locked, re-scoped, signed).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kongchuo.access.audit import audit_record
from kongchuo.access.scoping import Role
from kongchuo.calendar.schoolyear import today as local_today
from retrieval.alerts.selectors import alert_opens_case, can_decide_alert, can_review_decision
from retrieval.cases.services import case_open_or_join
from retrieval.evidence.services import evidence_save
from retrieval.models import (
    DISMISS_NEEDS_EVIDENCE,
    DISMISS_NEEDS_NOTE,
    Alert,
    AlertDecision,
    DismissReason,
    RetrievalCase,
)
from retrieval.workflow import WorkflowError, level_above, level_of, not_future, require_scope, row_lock
from students.models import School, Student, Township, User


def _alert_route(alert: Alert) -> tuple[School | None, Township | None]:
    school = alert.school
    return school, (school.township if school else alert.township)


def _alert_to_decide(alert: Alert, user: User) -> Alert:
    """The alert locked for a decision by `user`: in scope, still open, theirs to decide."""
    alert = row_lock(Alert, alert.pk)
    require_scope(Alert.objects, user, alert.pk)
    if alert.status != Alert.Status.OPEN:
        raise WorkflowError(_("该预警已处理"))
    if not can_decide_alert(user, alert):
        raise PermissionDenied
    return alert


@transaction.atomic
def alert_confirm(*, alert: Alert, user: User, reason: str = RetrievalCase.Reason.OTHER,
                  dropout_date: dt.date | None = None, note: str = "") -> AlertDecision:
    """Confirm a suspected dropout. For a child (dropout rules) this opens a 劝返 case — or
    joins the child's active case — and marks the student 疑似辍学."""
    alert = _alert_to_decide(alert, user)
    not_future(dropout_date, _("辍学日期"))
    level = level_of(user)
    assert level is not None  # can_decide_alert admits staff levels only
    case = None
    if alert_opens_case(alert):
        student = alert.student
        if student is None:
            student = Student.objects.filter(id_number=alert.subject).first()
        school, township = _alert_route(alert)
        if school is None and student is not None:
            school, township = student.school, student.school.township
        if township is None and student is not None:
            township = student.hukou_township
        case = case_open_or_join(
            user=user, student=student, id_number=student.id_number if student else alert.subject,
            name=alert.name or (student.name if student else ""), school=school, township=township,
            reason=reason, dropout_date=dropout_date, note=note, source="alert")
        case.alerts.add(alert)
    decision = AlertDecision.objects.create(
        alert=alert, kind=AlertDecision.Kind.CONFIRM, note=note, decided_by=user,
        decided_level=level, case=case)
    alert.status = Alert.Status.CONFIRMED
    alert.closed_at = timezone.now()
    alert.save(update_fields=["status", "closed_at"])
    audit_record(action="alert_confirm", user=user, obj=alert,
                 detail={"case": case.pk if case else None})
    return decision


@transaction.atomic
def alert_dismiss(*, alert: Alert, user: User, reason: str, note: str = "",
                  files: Sequence[UploadedFile] = ()) -> AlertDecision:
    """Dismiss an alert with a typed reason and evidence. A school's dismissal waits for its
    township center school (the county for a county-direct school); a township's for the
    county; the county's stands."""
    alert = _alert_to_decide(alert, user)
    if reason not in DismissReason.values:
        raise WorkflowError(_("请选择排除原因"))
    if reason in DISMISS_NEEDS_EVIDENCE and not files:
        raise WorkflowError(_("排除原因为“%(reason)s”时须上传证明材料")
                            % {"reason": DismissReason(reason).label})
    if reason in DISMISS_NEEDS_NOTE and not note.strip():
        raise WorkflowError(_("请填写说明"))
    level = level_of(user)
    assert level is not None  # can_decide_alert admits staff levels only
    needs_review = level != Role.COUNTY
    decision = AlertDecision.objects.create(
        alert=alert, kind=AlertDecision.Kind.DISMISS, reason=reason, note=note.strip(),
        decided_by=user, decided_level=level,
        review_level=level_above(level, alert.school) if needs_review else "",
        review_status=(AlertDecision.Review.PENDING if needs_review
                       else AlertDecision.Review.NOT_REQUIRED))
    school, township = _alert_route(alert)
    evidence_save(files, user=user, school=school, township=township, decision=decision)
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
    alert = row_lock(Alert, decision.alert_id)
    require_scope(Alert.objects, user, alert.pk)
    decision = row_lock(AlertDecision, decision.pk)
    if decision.review_status != AlertDecision.Review.PENDING:
        raise WorkflowError(_("该排除申请已复核"))
    if not can_review_decision(user, decision):
        raise PermissionDenied
    if not uphold and not note.strip():
        raise WorkflowError(_("驳回排除须填写复核意见"))
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
