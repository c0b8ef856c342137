"""Writes of the core app. Every multi-step write is atomic; views call these, never the ORM."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from django.db import connection, transaction
from django.utils import timezone

from kongchuo.audit import audit_record
from kongchuo.scoping import Role
from students.models import School, StatusChange, Student, Township, User

# Which status each kind of change leads to; None keeps the current status.
KIND_TO_STATUS = {
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
}


class StaleEdit(Exception):
    """Someone else saved the record after this form was opened."""


def status_after(kind: str, *, to_school: School | None, restore_status: str = "") -> str | None:
    if kind == StatusChange.Kind.SUSPICION_VOID and restore_status:
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
    from kongchuo.imports.bulk import chunked, history_create, update_batch_size

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
    """Set name_initials for (student id, initials) pairs in one statement (a county has
    200,000 names: bulk_update's CASE per row costs ~20× more). name_initials has no history."""
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
        raise ValueError(f"未知角色 / unknown role: {role}")
    if role in (Role.TOWNSHIP, Role.TOWNSHIP_GOV) and township is None:
        raise ValueError("乡镇角色需要 --township / township roles need --township CODE")
    if role == Role.SCHOOL and school is None:
        raise ValueError("学校角色需要 --school / the school role needs --school CODE")
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


# --------------------------------------------------------------------------- accounts

# Letters and digits that cannot be mistaken for one another when read off a screen or paper.
_PASSWORD_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789"  # noqa: S105 - an alphabet


def account_password_generate() -> str:
    """A one-time password (4 groups of 4, ~95 bits): shown once, changed at first login."""
    import secrets

    return "-".join("".join(secrets.choice(_PASSWORD_ALPHABET) for _ in range(4)) for _ in range(4))


@transaction.atomic
def account_create(*, actor: User, request=None, username: str, role: str, first_name: str = "",
                   phone: str = "", section: str = "", township: Township | None = None,
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
def account_update(*, actor: User, request=None, user: User, **values) -> list[str]:
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
def account_set_active(*, actor: User, request=None, user: User, active: bool) -> None:
    """Activate or deactivate an account; a deactivated one is logged out everywhere (the
    security receivers end its sessions on the save)."""
    if user.pk == actor.pk and not active:
        raise ValueError("不能停用自己的账号 / you cannot deactivate your own account")
    user.is_active = active
    user.save(update_fields=["is_active"])
    audit_record(action="account_activate" if active else "account_deactivate", request=request,
                 user=actor, obj=user)


@transaction.atomic
def account_password_reset(*, actor: User, request=None, user: User) -> str:
    """A new one-time password (returned: show it once); the owner is logged out and must
    change it at the next login."""
    from kongchuo.security.services import user_sessions_end

    password = account_password_generate()
    user.set_password(password)
    user.must_change_password = True
    user.save(update_fields=["password", "must_change_password"])
    user_sessions_end(user_ids=[user.pk])
    audit_record(action="account_password_reset", request=request, user=actor, obj=user)
    return password


@transaction.atomic
def account_otp_reset(*, actor: User, request=None, user: User) -> int:
    """Remove the account's authenticator (lost phone): it enrols a new one at its next login.
    Returns how many devices were removed; the owner is logged out."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from kongchuo.security.services import user_sessions_end

    removed, _ = TOTPDevice.objects.filter(user=user).delete()
    user_sessions_end(user_ids=[user.pk])
    audit_record(action="account_otp_reset", request=request, user=actor, obj=user,
                 detail={"devices": removed})
    return removed


@transaction.atomic
def account_unlock(*, actor: User, request=None, user: User) -> int:
    """Clear django-axes' failed-login records of the account (any address); returns how many."""
    from axes.utils import reset

    cleared = reset(username=user.username)
    audit_record(action="account_unlock", request=request, user=actor, obj=user,
                 detail={"attempts": cleared})
    return cleared


@transaction.atomic
def account_password_changed(*, user: User, request=None) -> None:
    """The owner chose their own password: the forced change is done."""
    if user.must_change_password:
        user.must_change_password = False
        user.save(update_fields=["must_change_password"])
    audit_record(action="password_change", request=request, user=user, obj=user)
