"""Writes of the core app. Every multi-step write is atomic; views call these, never the ORM."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from axes.utils import reset as axes_reset
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, models, transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext
from django_otp.plugins.otp_totp.models import TOTPDevice

from kongchuo.access.audit import audit_record
from kongchuo.access.idnumbers import birth_date_of, mask_id
from kongchuo.access.scoping import Role, covers_school, scope_of
from kongchuo.calendar.schoolyear import current_school_year, school_year_of, year_end, year_start
from kongchuo.calendar.schoolyear import today as local_today
from kongchuo.imports.base import current_lang
from kongchuo.imports.bulk import chunked, history_create, update_batch_size
from kongchuo.imports.cells import CellError, parse_id
from kongchuo.security.services import user_sessions_end
from students.models import LeadingGroupMember, School, StatusChange, Student, SupportMark, Township, User
from students.pinyin import name_initials
from students.support import FLAG_OF_LIST

# Which status each kind of change leads to; None keeps the current status.
KIND_TO_STATUS: dict[str, str | None] = {
    StatusChange.Kind.ENROLL: Student.Status.ENROLLED,
    StatusChange.Kind.TRANSFER_IN: Student.Status.ENROLLED,
    StatusChange.Kind.LEAVE: None,  # 请假 is a dated absence, the child stays 在读
    StatusChange.Kind.SUSPEND: Student.Status.SUSPENDED,
    StatusChange.Kind.RESUME: Student.Status.ENROLLED,
    StatusChange.Kind.VOCATIONAL: Student.Status.VOCATIONAL,
    StatusChange.Kind.OUT_OF_COUNTY: Student.Status.OUT_OF_COUNTY,
    StatusChange.Kind.DEFER: Student.Status.DEFERRED,
    StatusChange.Kind.HOME_TEACHING: Student.Status.HOME_TEACHING,
    StatusChange.Kind.SUSPECTED: Student.Status.SUSPECTED,
    StatusChange.Kind.DROPOUT: Student.Status.DROPPED_OUT,
    StatusChange.Kind.RETURNED: Student.Status.ENROLLED,
    StatusChange.Kind.GRADUATE: Student.Status.GRADUATED,
    StatusChange.Kind.DEATH: Student.Status.DECEASED,
    StatusChange.Kind.ABROAD: Student.Status.ABROAD,
    StatusChange.Kind.CORRECTION: None,
    # Back to the status the child had before the mark (`restore_status`); 在读 if unknown.
    StatusChange.Kind.SUSPICION_VOID: Student.Status.ENROLLED,
    # 转学中 until the other side answers; a refused or withdrawn request brings back the status
    # the child had (`restore_status`). The move itself is a TRANSFER_OUT (students.transfers).
    StatusChange.Kind.TRANSFER_REQUEST: Student.Status.TRANSFERRING,
    StatusChange.Kind.TRANSFER_CANCEL: Student.Status.ENROLLED,
    # The rollover's kinds move the grade, not the status (students/rollover.py).
    StatusChange.Kind.PROMOTE: None,
    StatusChange.Kind.REPEAT: None,
}


class StaleEdit(Exception):
    """Someone else saved the record after this form was opened."""


def status_after(kind: str, *, to_school: School | None, restore_status: str = "") -> str | None:
    if kind in (StatusChange.Kind.SUSPICION_VOID, StatusChange.Kind.TRANSFER_CANCEL) and restore_status:
        return restore_status
    if kind == StatusChange.Kind.TRANSFER_OUT:
        # 转出 within the county moves the child (still 在读); elsewhere: 外县就读.
        return Student.Status.ENROLLED if to_school else Student.Status.OUT_OF_COUNTY
    return KIND_TO_STATUS[kind]


def status_change_build(
    *, student: Student, kind: str, effective_date: dt.date, user: User | None,
    end_date: dt.date | None = None, to_school: School | None = None,
    to_school_name: str = "", to_county: str = "", reason: str = "", approved_by: str = "",
    source: str = "manual", restore_status: str = "",
) -> tuple[StatusChange, list[str]]:
    """Apply one change to the in-memory `student`; return the unsaved history row and the
    student fields it changed. The one place the status rules run: the single-row service and
    the set-based one (and the roster import's moves) all go through here. `restore_status`:
    for a withdrawn 疑似辍学 mark, the status the child had before it.
    """
    new_status = status_after(kind, to_school=to_school, restore_status=restore_status)
    change = StatusChange(
        student=student, kind=kind, effective_date=effective_date, end_date=end_date,
        from_status=student.status, to_status=new_status or student.status,
        from_school_id=student.school_id, to_school=to_school, to_school_name=to_school_name,
        to_county=to_county, reason=reason, approved_by=approved_by, source=source,
        created_by=user,
    )
    fields = []
    if new_status and new_status != student.status:
        student.status = new_status
        fields.append("status")
    if kind == StatusChange.Kind.TRANSFER_OUT and to_school and to_school.pk != student.school_id:
        student.school = to_school
        fields.append("school")
    return change, fields


@transaction.atomic
def student_change_status(
    *, student: Student, kind: str, effective_date: dt.date, user: User | None,
    end_date: dt.date | None = None, to_school: School | None = None,
    to_school_name: str = "", to_county: str = "", reason: str = "", approved_by: str = "",
    source: str = "manual", restore_status: str = "",
) -> StatusChange:
    """Record a dated status change and apply it to the student.

    Locks the student row so two clerks recording changes at once serialise. A change dated in
    the future is recorded but the student's current status moves only when it is effective
    (the sweeps read the history by date, so they stay right either way).
    """
    student = Student.objects.select_for_update().get(pk=student.pk)
    change, fields = status_change_build(
        student=student, kind=kind, effective_date=effective_date, end_date=end_date,
        to_school=to_school, to_school_name=to_school_name, to_county=to_county, reason=reason,
        approved_by=approved_by, source=source, user=user, restore_status=restore_status)
    change.save()
    if fields:
        student.version += 1
        student.save(update_fields=[*fields, "version", "updated_at"])
    return change


@dataclass(frozen=True)
class StatusChangeRequest:
    """One change for `student_changes_apply_bulk` (the arguments of student_change_status)."""

    student_id: int
    kind: str
    effective_date: dt.date
    end_date: dt.date | None = None
    to_school: School | None = None
    to_school_name: str = ""
    to_county: str = ""
    reason: str = ""
    approved_by: str = ""


@transaction.atomic
def student_changes_apply_bulk(
    *, changes: Sequence[StatusChangeRequest], user: User | None, source: str = "import",
) -> list[StatusChange]:
    """student_change_status for many students at once, set-based (imports of 学籍变动).

    Same rules (status_change_build), same history, a fixed number of queries per chunk of
    students: lock the students (SELECT … FOR UPDATE ordered by pk, in chunks, so two imports
    touching the same children cannot deadlock), apply each student's changes in date order in
    memory, then bulk-create the StatusChange rows, bulk-update the students and write their
    simple_history rows in bulk. The caller has checked that no change is already on file
    (the unique (student, kind, effective_date) constraint refuses a duplicate).
    """
    if not changes:
        return []
    ids = sorted({c.student_id for c in changes})
    students: dict[int, Student] = {}
    for batch in chunked(ids):
        students.update((s.pk, s) for s in
                        Student.objects.select_for_update().filter(pk__in=batch).order_by("pk"))
    rows: list[StatusChange] = []
    touched: dict[int, set[str]] = {}
    ordered = sorted(changes, key=lambda c: (c.student_id, c.effective_date, c.kind))
    for c in ordered:
        student = students[c.student_id]
        change, fields = status_change_build(
            student=student, kind=c.kind, effective_date=c.effective_date, end_date=c.end_date,
            to_school=c.to_school, to_school_name=c.to_school_name, to_county=c.to_county,
            reason=c.reason, approved_by=c.approved_by, source=source, user=user)
        rows.append(change)
        if fields:
            student.version += 1
            touched.setdefault(student.pk, set()).update(fields)
    StatusChange.objects.bulk_create(rows, batch_size=1000)
    if touched:
        now = timezone.now()
        updated = [students[pk] for pk in sorted(touched)]
        for student in updated:
            student.updated_at = now
        fields = sorted(set().union(*touched.values()) | {"version", "updated_at"})
        Student.objects.bulk_update(updated, fields, batch_size=update_batch_size(len(fields)))
        history_create(Student, updated, user=user, reason=source, update=True, when=now)
    return rows


def students_initials_write(pairs: list[tuple[int, str]]) -> None:
    """Set name_initials for (student id, initials) pairs in one statement: a county has
    200,000 names, and bulk_update's CASE per row costs far more (figures: docs/performance.md).
    name_initials has no history."""
    if not pairs:
        return
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute("UPDATE students_student t SET name_initials = v.initials FROM"
                        " (SELECT unnest(%s::bigint[]) AS id, unnest(%s::text[]) AS initials) v"
                        " WHERE t.id = v.id", [[p for p, _i in pairs], [i for _p, i in pairs]])
        else:
            cur.executemany("UPDATE students_student SET name_initials = %s WHERE id = %s",
                            [(i, p) for p, i in pairs])


@transaction.atomic
def user_create(
    *, username: str, role: str, password: str | None, township: Township | None = None,
    school: School | None = None, first_name: str = "", section: str = "",
    created_by: User | None = None,
) -> User:
    if role not in Role.values:
        raise ValueError(gettext("未知角色：%(role)s") % {"role": role})
    if role in (Role.TOWNSHIP, Role.TOWNSHIP_GOV) and township is None:
        raise ValueError(gettext("乡镇角色需要 --township CODE"))
    if role == Role.SCHOOL and school is None:
        raise ValueError(gettext("学校角色需要 --school CODE"))
    user = User(username=username, role=role, first_name=first_name, section=section,
                township=township if role in (Role.TOWNSHIP, Role.TOWNSHIP_GOV) else None,
                school=school if role == Role.SCHOOL else None)
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.full_clean(exclude=["password"])
    user.save()
    audit_record(action="user_create", user=created_by, obj=user,
                 detail={"role": role, "username": username})
    return user


# --------------------------------------------------------------------------- 学籍维护 (forms)

#: What a school clerk edits on the student page (identity and contact); the ID number, and the
#: sex and birth date it carries, are corrected by the township or the county (student_id_correct).
EDITABLE_FIELDS = ("name", "student_number", "grade", "class_name", "hukou_address", "address",
                   "guardian_name", "guardian_phone", "entry_month", "is_left_behind", "is_migrant")
#: How a child without a record of the county arrives (新增学生).
ARRIVALS = (StatusChange.Kind.ENROLL, StatusChange.Kind.TRANSFER_IN)


def _link_support_marks(student: Student) -> list[str]:
    """Support-list rows of this ID found in no school until now: link them and set the
    student's flags (as the support import does for a known child); the flags set."""
    marks = list(SupportMark.objects.filter(id_number=student.id_number, student__isnull=True))
    flags = []
    for mark in marks:
        flag = FLAG_OF_LIST.get(mark.kind)
        if flag and not getattr(student, flag):
            setattr(student, flag, True)
            flags.append(flag)
        if mark.kind == SupportMark.Kind.DISABILITY and not student.disability_category:
            student.disability_category = mark.disability_category or "未注明"
            student.disability_grade = mark.disability_grade
            flags += ["disability_category", "disability_grade"]
    return flags


def _relink_support_marks(student: Student) -> None:
    SupportMark.objects.filter(id_number=student.id_number, student__isnull=True).update(student=student)


def _blank_value(name: str) -> object:
    """What a blank cell stores in the student field `name`: "" for text, else the default."""
    field = Student._meta.get_field(name)
    if isinstance(field, models.CharField):
        return ""
    return cast(models.Field, field).get_default()  # a concrete column, never a relation's reverse


@transaction.atomic
def student_enrol(*, user: User, row: Any, arrival: str, reason: str = "") -> Student:
    """A child new to the county (新生入学, or 转入 from another county), from a record that
    passed the roster import's checks (kongchuo.imports.checks.check_record): same rules, same
    stored values. The caller has made sure the ID is not a child of the county already
    (students.selectors.existing_student); the unique ID refuses a race."""
    if arrival not in ARRIVALS:
        raise ValueError(arrival)
    values = {f: getattr(row, f) for f in (
        "grade", "class_name", "name", "sex", "birth_date", "student_number", "hukou_address",
        "address", "guardian_name", "guardian_phone", "disability_category", "entry_month",
        "is_poor", "is_dibao", "is_tekun", "is_left_behind", "is_migrant")}
    values = {k: (v if v is not None else _blank_value(k)) for k, v in values.items()}
    student = Student(id_number=row.id_number, school_id=row.school_id,
                      hukou_township_id=row.hukou_township_id, status=Student.Status.ENROLLED,
                      name_initials=name_initials(values["name"]) or "-", **values)
    _link_support_marks(student)
    student._history_user = user  # type: ignore[attr-defined]  # django-simple-history's author hook
    student.full_clean(validate_unique=False, validate_constraints=False)
    student.save()
    _relink_support_marks(student)
    StatusChange.objects.create(
        student=student, kind=arrival, effective_date=timezone.localdate(), from_status="",
        to_status=Student.Status.ENROLLED, to_school_id=row.school_id, reason=reason,
        source="manual", created_by=user)
    audit_record(action="student_create", user=user, obj=student,
                 detail={"school": row.school_id, "arrival": arrival})
    return student


@transaction.atomic
def student_update(*, user: User, student: Student, row: Any, fields: list[str],
                   expected_version: int | None) -> Student:
    """Save the edited `fields` (of EDITABLE_FIELDS) from a record that passed the roster
    checks, if nobody saved the student since `expected_version` (else StaleEdit). History
    (django-simple-history) keeps every version; the audit names the fields, not the values."""
    unknown = set(fields) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValueError(sorted(unknown))
    locked = Student.objects.select_for_update().get(pk=student.pk)
    if expected_version is None or locked.version != expected_version:
        raise StaleEdit
    changed = []
    for f in fields:
        value = getattr(row, f)
        if value is None and isinstance(Student._meta.get_field(f), models.CharField):
            value = ""
        if value is None and isinstance(Student._meta.get_field(f), models.BooleanField):
            value = False
        if getattr(locked, f) != value:
            setattr(locked, f, value)
            changed.append(f)
    if "hukou_address" in changed and row.hukou_township_id != locked.hukou_township_id:
        locked.hukou_township_id = row.hukou_township_id
        changed.append("hukou_township")
    if not changed:
        return locked
    if "name" in changed:
        locked.name_initials = name_initials(locked.name) or "-"
        changed.append("name_initials")
    locked.version += 1
    locked._history_user = user
    locked.full_clean(validate_unique=False, validate_constraints=False)
    locked.save(update_fields=[*changed, "version", "updated_at"])
    audit_record(action="student_update", user=user, obj=locked,
                 detail={"fields": [f for f in changed if f != "name_initials"]})
    return locked


class IdNumberTaken(Exception):
    """The corrected ID number is already another child's."""


@transaction.atomic
def student_id_correct(*, user: User, student: Student, id_number: str, reason: str,
                       expected_version: int | None) -> Student:
    """Correct a child's 身份证件号 (township or county only, with a reason): the sex and birth
    date follow the new number (GB 11643). History keeps the old value with the reason; the
    audit keeps both numbers masked. Support-list rows of the new number found in no school
    are linked to the child."""
    scope = scope_of(user)
    if scope is None or scope.role not in (Role.COUNTY, Role.TOWNSHIP):
        raise PermissionDenied
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(gettext("更正身份证件号须填写理由"), code="reason")
    try:
        new = parse_id(id_number)
    except CellError as exc:
        raise ValidationError(gettext("%(problem)s（%(code)s）") % {
            "problem": exc.message(current_lang()), "code": exc.code}, code=exc.code) from exc
    assert new is not None  # parse_id refuses a blank number when required (the default)
    locked = Student.objects.select_for_update().select_related("school").get(pk=student.pk)
    if not covers_school(user, locked.school):
        raise PermissionDenied
    if expected_version is None or locked.version != expected_version:
        raise StaleEdit
    if new == locked.id_number:
        raise ValidationError(gettext("新证件号与原证件号相同"), code="unchanged")
    if Student.objects.filter(id_number=new).exists():
        raise IdNumberTaken
    old = locked.id_number
    locked.id_number = new
    locked.birth_date = birth_date_of(new)
    locked.sex = "M" if new[16] in "13579" else "F"
    flags = _link_support_marks(locked)
    locked.version += 1
    locked._history_user = user
    locked._change_reason = f"身份证件号更正：{reason}"[:100]
    locked.save(update_fields=["id_number", "birth_date", "sex", *flags, "version", "updated_at"])
    _relink_support_marks(locked)
    audit_record(action="student_id_correct", user=user, obj=locked,
                 detail={"old": mask_id(old), "new": mask_id(new), "reason": reason})
    return locked


# --------------------------------------------------------------------------- accounts

# Letters and digits that cannot be mistaken for one another when read off a screen or paper.
_PASSWORD_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789"  # noqa: S105 - an alphabet


def account_password_generate() -> str:
    """A one-time password (4 groups of 4, ~95 bits): shown once, changed at first login."""
    return "-".join("".join(secrets.choice(_PASSWORD_ALPHABET) for _ in range(4)) for _ in range(4))


@transaction.atomic
def account_create(*, actor: User, request: HttpRequest | None = None, username: str, role: str,
                   first_name: str = "", phone: str = "", section: str = "", township: Township | None = None,
                   school: School | None = None) -> tuple[User, str]:
    """A new account with a generated password the owner must change at first login.
    Precondition: the caller checked `actor` may create this role in this scope (the forms
    offer only such choices). Returns the account and its password (show it once)."""
    password = account_password_generate()
    user = user_create(username=username, role=role, password=password, township=township,
                       school=school, first_name=first_name, section=section, created_by=actor)
    user.phone = phone
    user.must_change_password = True
    user.save(update_fields=["phone", "must_change_password"])
    audit_record(action="account_create", request=request, user=actor, obj=user,
                 detail={"role": role, "scope": user.scope_label})
    return user, password


ACCOUNT_EDITABLE = ("first_name", "phone", "section", "role", "township", "school")


@transaction.atomic
def account_update(*, actor: User, request: HttpRequest | None = None, user: User,
                   **values: object) -> list[str]:
    """Edit an account's name, phone, section and scope; returns the changed fields."""
    changed = []
    for name, value in values.items():
        if name not in ACCOUNT_EDITABLE:
            raise TypeError(name)
        if getattr(user, name) != value:
            setattr(user, name, value)
            changed.append(name)
    if user.role == Role.SCHOOL:
        user.township = None
    elif user.role in (Role.TOWNSHIP, Role.TOWNSHIP_GOV):
        user.school = None
    else:
        user.township = user.school = None
    user.full_clean(exclude=["password"])
    user.save()
    if changed:
        audit_record(action="account_update", request=request, user=actor, obj=user,
                     detail={"fields": changed})
    return changed


@transaction.atomic
def account_set_active(*, actor: User, request: HttpRequest | None = None, user: User, active: bool) -> None:
    """Activate or deactivate an account; a deactivated one is logged out everywhere (the
    security receivers end its sessions on the save)."""
    if user.pk == actor.pk and not active:
        raise ValueError(gettext("不能停用自己的账号"))
    user.is_active = active
    user.save(update_fields=["is_active"])
    audit_record(action="account_activate" if active else "account_deactivate", request=request,
                 user=actor, obj=user)


@transaction.atomic
def account_password_reset(*, actor: User, request: HttpRequest | None = None, user: User) -> str:
    """A new one-time password (returned: show it once); the owner is logged out and must
    change it at the next login."""
    password = account_password_generate()
    user.set_password(password)
    user.must_change_password = True
    user.save(update_fields=["password", "must_change_password"])
    user_sessions_end(user_ids=[user.pk])
    audit_record(action="account_password_reset", request=request, user=actor, obj=user)
    return password


@transaction.atomic
def account_otp_reset(*, actor: User, request: HttpRequest | None = None, user: User) -> int:
    """Remove the account's authenticator (lost phone): it enrols a new one at its next login.
    Returns how many devices were removed; the owner is logged out."""
    removed, _ = TOTPDevice.objects.filter(user=user).delete()
    user_sessions_end(user_ids=[user.pk])
    audit_record(action="account_otp_reset", request=request, user=actor, obj=user,
                 detail={"devices": removed})
    return removed


@transaction.atomic
def account_unlock(*, actor: User, request: HttpRequest | None = None, user: User) -> int:
    """Clear django-axes' failed-login records of the account (any address); returns how many."""
    cleared = axes_reset(username=user.username)
    audit_record(action="account_unlock", request=request, user=actor, obj=user,
                 detail={"attempts": cleared})
    return cleared


@transaction.atomic
def account_password_changed(*, user: User, request: HttpRequest | None = None) -> None:
    """The owner chose their own password: the forced change is done."""
    if user.must_change_password:
        user.must_change_password = False
        user.save(update_fields=["must_change_password"])
    audit_record(action="password_change", request=request, user=user, obj=user)


# --------------------------------------------------------------------------- schools and county

RESPONSIBILITY_FIELDS = ("principal_name", "principal_phone", "clerk_name", "clerk_phone")


@transaction.atomic
def school_responsibility_update(*, school: School, user: User, request: HttpRequest | None = None,
                                 **values: str) -> list[str]:
    """Save a school's 责任人 (principal and clerk, names and phones), audited with the names of
    the fields that changed (returned). Precondition: the caller checked `user` may edit them
    (students.selectors.can_edit_responsibility)."""
    unknown = set(values) - set(RESPONSIBILITY_FIELDS)
    if unknown:
        raise TypeError(sorted(unknown))
    locked = School.objects.select_for_update().get(pk=school.pk)
    changed = [name for name in RESPONSIBILITY_FIELDS
               if name in values and getattr(locked, name) != values[name]]
    for name, value in values.items():
        setattr(locked, name, value)
    locked.save(update_fields=list(values))
    audit_record(action="responsibility_update", request=request, user=user, obj=locked,
                 detail={"fields": changed})
    return changed


@transaction.atomic
def leading_group_member_add(*, user: User, request: HttpRequest | None = None, position: str, name: str, title: str = "",
                             phone: str = "", order: int = 0) -> LeadingGroupMember:
    """Add a member to the county's 领导小组, audited. County users only (the caller checks)."""
    member = LeadingGroupMember.objects.create(position=position, name=name, title=title, phone=phone,
                                               order=order)
    audit_record(action="leading_group_add", request=request, user=user, obj=member)
    return member


@transaction.atomic
def leading_group_member_remove(*, user: User, request: HttpRequest | None = None, member: LeadingGroupMember) -> None:
    """Remove a member of the 领导小组; the audit row names who it was before the row goes."""
    audit_record(action="leading_group_remove", request=request, user=user, obj=member)
    member.delete()


# ----------------------------------------------------------------------------- school year


@transaction.atomic
def school_junior_school_set(*, school: School, junior: School | None, user: User | None,
                             request: HttpRequest | None = None) -> School:
    """Name (or clear) the 对口初中 of a primary school or teaching point, audited."""
    if junior is not None and (junior.kind not in School.TEACHES_GRADE_7 or junior.pk == school.pk):
        raise ValueError(gettext("对口初中须为本县开设七年级的学校"))
    before = school.junior_school_id
    school.junior_school = junior
    school.save(update_fields=["junior_school"])
    audit_record(action="junior_school_set", request=request, user=user, obj=school,
                 detail={"from": before, "to": junior.pk if junior else None})
    return school


def repeat_day(today: dt.date | None = None) -> dt.date:
    """The date a 留级 recorded now carries: a day of the current (open) school year — today,
    or the year's first day when the calendar's year is already closed (after an early
    rollover in July or August)."""
    day = today or local_today()
    year = current_school_year(day)
    return day if school_year_of(day) == year else year_start(year)


def repeat_of_year(student: Student, year: int) -> StatusChange | None:
    return (student.status_changes.filter(kind=StatusChange.Kind.REPEAT,
                                          effective_date__range=(year_start(year), year_end(year)))
            .order_by("-effective_date").first())


@transaction.atomic
def student_repeat_record(*, student: Student, user: User | None, reason: str,
                          request: HttpRequest | None = None) -> StatusChange:
    """Put a child on the current year's 留级 list: at the rollover the child keeps the grade."""
    day = repeat_day()
    if student.status not in (Student.Status.ENROLLED, Student.Status.HOME_TEACHING):
        raise ValueError(gettext("只有在读或送教上门的学生可以留级"))
    if repeat_of_year(student, school_year_of(day)) is not None:
        raise ValueError(gettext("该生已在本学年留级名单中"))
    change = student_change_status(student=student, kind=StatusChange.Kind.REPEAT,
                                   effective_date=day, user=user, reason=reason)
    audit_record(action="repeat_record", request=request, user=user, obj=student,
                 detail={"date": day.isoformat()})
    return change


@transaction.atomic
def student_repeat_withdraw(*, student: Student, user: User | None,
                            request: HttpRequest | None = None) -> None:
    """Take a child off the current year's 留级 list (a year not yet closed), audited."""
    change = repeat_of_year(student, current_school_year())
    if change is None:
        raise ValueError(gettext("该生不在本学年留级名单中"))
    audit_record(action="repeat_withdraw", request=request, user=user, obj=student,
                 detail={"date": change.effective_date.isoformat(), "reason": change.reason})
    change.delete()
