"""In-county transfers (转学): every write of the workflow, and who may do what.

One side asks, the other confirms:

- 转入申请 (direction "in"): the receiving school asks (新增学生 with the ID of a child of
  another school of the county, or the 转学 page); the sending school, its township (or the
  county, for a county-direct school) confirms or refuses.
- 转出登记 (direction "out"): the sending school records a 转出 to a school of the county; the
  receiving side confirms that the child arrived (接收) or refuses. Not received within 10
  school days, the child is a suspected dropout (retrieval sweep `transfer_unreceived`).

While a request is pending the child is 转学中 (Student.Status.TRANSFERRING): still on the
sending school's roll, seen by both sides (TransferRequest.objects.visible_to), counted by
neither as missing (return check, roster gaps). Confirming moves the child with a 转出 history
row naming the destination; refusing or withdrawing brings back the status the child had. The
student row is locked by every step (then the request row), so a child is on exactly one
school's roll at every moment and a request is decided once. Every step is audited.

Same-day limits: the status history keeps one row per (child, kind, day), so a child gets at
most one transfer request, one withdrawal and one move a day; a second request on a day one of
them already happened is refused with a message (it does not happen in practice: a clerk who
withdrew a mistaken request sends the right one the next day).
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kongchuo.access.audit import audit_record
from kongchuo.access.scoping import covers_school
from kongchuo.calendar.schoolyear import today
from kongchuo.imports.bulk import chunked
from students.models import School, StatusChange, Student, TransferRequest, User
from students.services import (
    StaleEdit,
    StatusChangeRequest,
    student_change_status,
    student_changes_apply_bulk,
)

#: How far back a clerk may date a transfer (a 转出 recorded a few days late).
BACKDATE_DAYS = 60
#: A child can be asked for whatever their status, except these.
NOT_TRANSFERABLE = (Student.Status.TRANSFERRING, Student.Status.DECEASED)
_SAME_DAY_KINDS = (StatusChange.Kind.TRANSFER_REQUEST, StatusChange.Kind.TRANSFER_CANCEL,
                   StatusChange.Kind.TRANSFER_OUT)


def asking_school(t: TransferRequest) -> School:
    return t.to_school if t.direction == TransferRequest.Direction.IN else t.from_school


def answering_school(t: TransferRequest) -> School:
    return t.from_school if t.direction == TransferRequest.Direction.IN else t.to_school


def may_answer(user, t: TransferRequest) -> bool:
    """Confirm or refuse: the side that did not ask (a school, its township, the county)."""
    return t.is_pending and covers_school(user, answering_school(t))


def may_withdraw(user, t: TransferRequest) -> bool:
    return t.is_pending and covers_school(user, asking_school(t))


def _check_date(day: dt.date) -> None:
    now = today()
    if day > now:
        raise ValidationError(_("日期不能晚于今天"), code="future")
    if day < now - dt.timedelta(days=BACKDATE_DAYS):
        raise ValidationError(_("日期不能早于%(n)s天前") % {"n": BACKDATE_DAYS}, code="too_old")


@transaction.atomic
def transfer_request_create(
    *, user: User, student: Student, to_school: School, direction: str, grade: int,
    class_name: str = "", reason: str, requested_on: dt.date | None = None,
) -> TransferRequest:
    """Ask for (direction "in", by the receiving side) or record (direction "out", by the
    sending side) the transfer of `student` to `to_school`; the child becomes 转学中.

    Raises PermissionDenied when the user does not act for the asking school, ValidationError
    when the child cannot be asked for (already at that school, already pending, deceased, a
    transfer step already on file today)."""
    requested_on = requested_on or today()
    _check_date(requested_on)
    locked = Student.objects.select_for_update().select_related("school").get(pk=student.pk)
    if direction not in TransferRequest.Direction.values:
        raise ValidationError("direction")
    asking = to_school if direction == TransferRequest.Direction.IN else locked.school
    if not covers_school(user, asking):
        raise PermissionDenied
    if locked.school_id == to_school.pk:
        raise ValidationError(_("该生已在%(school)s学籍中，无需转学") % {"school": to_school.name},
                              code="same_school")
    if locked.status in NOT_TRANSFERABLE or TransferRequest.objects.filter(
            student=locked, state=TransferRequest.State.PENDING).exists():
        if locked.status == Student.Status.DECEASED:
            raise ValidationError(_("该生学籍状态为“死亡”，不能转学"), code="deceased")
        raise ValidationError(_("该生已有待确认的转学，请等待对方确认或撤回后再提出"), code="pending")
    day = today()
    if StatusChange.objects.filter(student=locked, kind__in=_SAME_DAY_KINDS, effective_date=day).exists():
        raise ValidationError(_("该生今天已有一次转学登记（提出、撤回或完成），请明天再提出"),
                              code="same_day")
    status_before = locked.status
    student_change_status(student=locked, kind=StatusChange.Kind.TRANSFER_REQUEST, effective_date=day,
                          to_school=to_school, reason=reason, user=user, source="transfer")
    transfer = TransferRequest.objects.create(
        student=locked, from_school=locked.school, to_school=to_school, direction=direction,
        status_before=status_before, grade=grade, class_name=class_name or "", reason=reason,
        requested_on=requested_on, requested_by=user)
    audit_record(action="transfer_request", user=user, obj=transfer, detail={
        "direction": direction, "student": locked.pk, "from_school": locked.school_id,
        "to_school": to_school.pk})
    return transfer


def _lock(transfer: TransferRequest, expected_version: int | None) -> tuple[TransferRequest, Student]:
    """The child's row, then the request's (every step locks in this order: no deadlock); a
    request decided or changed since the page was opened raises StaleEdit."""
    student = Student.objects.select_for_update().get(pk=transfer.student_id)
    locked = (TransferRequest.objects.select_for_update(of=("self",))
              .select_related("from_school", "to_school").get(pk=transfer.pk))
    if locked.state != TransferRequest.State.PENDING or expected_version != locked.version:
        raise StaleEdit
    return locked, student


def _decide(t: TransferRequest, *, user: User, state: str, note: str) -> None:
    t.state = state
    t.decided_by = user
    t.decided_at = timezone.now()
    t.decision_note = note
    t.version += 1
    t.save(update_fields=["state", "decided_by", "decided_at", "decision_note", "version"])


@transaction.atomic
def transfer_confirm(*, user: User, transfer: TransferRequest, expected_version: int | None,
                     note: str = "") -> TransferRequest:
    """The answering side confirms: the child moves to the receiving school (在读, in the
    requested grade and class) with a 转出 row naming it. A child already there (a county
    roster moved them meanwhile) only has the request closed."""
    t, student = _lock(transfer, expected_version)
    if not covers_school(user, answering_school(t)):
        raise PermissionDenied
    day = today()
    if student.school_id != t.to_school_id:
        if StatusChange.objects.filter(student=student, kind=StatusChange.Kind.TRANSFER_OUT,
                                       effective_date=day).exists():
            raise ValidationError(_("该生今天已有一次转出，请明天再确认"), code="same_day")
        student_change_status(student=student, kind=StatusChange.Kind.TRANSFER_OUT, effective_date=day,
                              to_school=t.to_school, reason=t.reason, user=user, source="transfer",
                              approved_by=user.get_full_name() or user.username)
        student.refresh_from_db()
    fields = []
    if student.grade != t.grade:
        student.grade = t.grade
        fields.append("grade")
    if t.class_name and student.class_name != t.class_name:
        student.class_name = t.class_name
        fields.append("class_name")
    if fields:
        student.version += 1
        student._history_user = user
        student.save(update_fields=[*fields, "version", "updated_at"])
    _decide(t, user=user, state=TransferRequest.State.CONFIRMED, note=note)
    audit_record(action="transfer_confirm", user=user, obj=t, detail={
        "student": student.pk, "from_school": t.from_school_id, "to_school": t.to_school_id})
    return t


def _close(*, user: User, transfer: TransferRequest, expected_version: int | None, state: str,
           note: str, allowed) -> TransferRequest:
    t, student = _lock(transfer, expected_version)
    if not allowed(user, t):
        raise PermissionDenied
    if student.status == Student.Status.TRANSFERRING:
        student_change_status(student=student, kind=StatusChange.Kind.TRANSFER_CANCEL,
                              effective_date=today(), restore_status=t.status_before,
                              reason=note or str(TransferRequest.State(state).label), user=user,
                              source="transfer")
    _decide(t, user=user, state=state, note=note)
    audit_record(action=f"transfer_{state}", user=user, obj=t, detail={
        "student": student.pk, "from_school": t.from_school_id, "to_school": t.to_school_id})
    return t


@transaction.atomic
def transfer_refuse(*, user: User, transfer: TransferRequest, expected_version: int | None,
                    note: str) -> TransferRequest:
    """The answering side refuses, with a reason: the child stays where they are, in the
    status they had before the request."""
    note = (note or "").strip()
    if not note:
        raise ValidationError(_("拒绝时必须填写理由"), code="note_required")
    return _close(user=user, transfer=transfer, expected_version=expected_version,
                  state=TransferRequest.State.REFUSED, note=note,
                  allowed=lambda u, t: covers_school(u, answering_school(t)))


@transaction.atomic
def transfer_withdraw(*, user: User, transfer: TransferRequest, expected_version: int | None,
                      note: str = "") -> TransferRequest:
    """The asking side withdraws its request (a mistake, the family changed its mind)."""
    return _close(user=user, transfer=transfer, expected_version=expected_version,
                  state=TransferRequest.State.WITHDRAWN, note=(note or "").strip(),
                  allowed=lambda u, t: covers_school(u, asking_school(t)))


@transaction.atomic
def transfers_out_record_bulk(*, user: User | None, changes: list) -> list[TransferRequest]:
    """转出 to schools of the county from the status-changes import (StatusChangeRequest items
    with a `to_school`): each becomes a pending 转出登记, the child 转学中 (set-based: the same
    history rows as transfer_request_create, written in bulk). The caller has rejected the rows
    of children already 转学中 or already at that school."""
    if not changes:
        return []
    before: dict[int, tuple] = {}
    for batch in chunked(sorted({c.student_id for c in changes})):
        before.update((v[0], v[1:]) for v in Student.objects.filter(pk__in=batch)
                      .values_list("pk", "status", "school_id", "grade", "class_name"))
    student_changes_apply_bulk(
        changes=[dataclasses.replace(c, kind=StatusChange.Kind.TRANSFER_REQUEST) for c in changes],
        user=user, source="import")
    transfers = [TransferRequest(
        student_id=c.student_id, from_school_id=before[c.student_id][1], to_school=c.to_school,
        direction=TransferRequest.Direction.OUT, status_before=before[c.student_id][0],
        grade=before[c.student_id][2], class_name=before[c.student_id][3] or "",
        reason=c.reason or _("学籍变动导入"), requested_on=c.effective_date, requested_by=user)
        for c in changes]
    TransferRequest.objects.bulk_create(transfers, batch_size=1000)
    audit_record(action="transfer_request", user=user, object_type="students.transferrequest",
                 detail={"direction": "out", "source": "import", "count": len(transfers)})
    return transfers


@transaction.atomic
def transfers_in_request_bulk(*, user: User | None, asks: list[tuple[int, School, int, str]],
                              reason: str) -> tuple[list[TransferRequest], set[int]]:
    """转入申请 for many children at once (the roster import naming children of schools outside
    the importer's scope): (student id, receiving school, grade, class) each. Same rules as
    transfer_request_create, set-based: a child 转学中, deceased, with a pending request or with
    a transfer step on file today is not asked for. Returns the requests made and the ids of
    the children refused. The sending side confirms (may_answer); the child is 转学中 until then.
    """
    if not asks:
        return [], set()
    ids = sorted({a[0] for a in asks})
    day = today()
    before: dict[int, tuple] = {}
    refused: set[int] = set()
    for batch in chunked(ids):
        before.update((v[0], v[1:]) for v in Student.objects.select_for_update().filter(pk__in=batch)
                      .order_by("pk").values_list("pk", "status", "school_id"))
        refused.update(TransferRequest.objects.filter(student_id__in=batch, state=TransferRequest.State.PENDING)
                       .values_list("student_id", flat=True))
        refused.update(StatusChange.objects.filter(student_id__in=batch, kind__in=_SAME_DAY_KINDS,
                                                   effective_date=day).values_list("student_id", flat=True))
    refused.update(pk for pk, (status, _school) in before.items() if status in NOT_TRANSFERABLE)
    wanted = [a for a in asks if a[0] not in refused and a[0] in before and a[1].pk != before[a[0]][1]]
    refused.update(a[0] for a in asks if a not in wanted)
    changes = [StatusChangeRequest(student_id=pk, kind=StatusChange.Kind.TRANSFER_REQUEST,
                                   effective_date=day, to_school=school, reason=reason)
               for pk, school, _grade, _class in wanted]
    student_changes_apply_bulk(changes=changes, user=user, source="import")
    transfers = [TransferRequest(
        student_id=pk, from_school_id=before[pk][1], to_school=school,
        direction=TransferRequest.Direction.IN, status_before=before[pk][0], grade=grade,
        class_name=class_name or "", reason=reason, requested_on=day, requested_by=user)
        for pk, school, grade, class_name in wanted]
    TransferRequest.objects.bulk_create(transfers, batch_size=1000)
    if transfers:
        audit_record(action="transfer_request", user=user, object_type="students.transferrequest",
                     detail={"direction": "in", "source": "import", "count": len(transfers)})
    return transfers, refused
