"""Multi-model reads of the core app."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.utils.functional import Promise
from django_otp.plugins.otp_totp.models import TOTPDevice

from kongchuo.access.scoping import Role, scope_of
from students.counts import enrolled_by_school
from students.models import RosterGap, School, StatusChange, Student, Township, TransferRequest, User


def with_enrolled(schools: Iterable[School]) -> list[School]:
    """The schools, each with `n_students` (enrolled) from one cached GROUP BY over students.

    Annotating Count("students") joined and grouped all 200,000 students by every school and
    township column on each view of the school list.
    """
    counts = enrolled_by_school()
    # Labels translated once per list, not per row: get_FOO_display() rebuilds the choices
    # dict (hashing lazy translations) on every call, twice for each school of the county.
    kinds = {k: str(v) for k, v in School.Kind.choices}
    oversights = {k: str(v) for k, v in School.Oversight.choices}
    out = list(schools)
    # Display attributes for the list templates, set on the instances: not model fields, so
    # the stubs do not know them.
    for school in out:
        school.n_students = counts.get(school.pk, 0)  # type: ignore[attr-defined]
        school.kind_label = kinds.get(school.kind, school.kind)  # type: ignore[attr-defined]
        school.oversight_label = (  # type: ignore[attr-defined]
            oversights.get(school.oversight, school.oversight))
    return out


def school_list_for(user: User, **filters: object) -> list[School]:
    return with_enrolled(School.objects.visible_to(user).filter(**filters).select_related("township"))


def township_summary(township: Township) -> dict:
    ids = list(School.objects.filter(township=township, oversight="township").values_list("pk", flat=True))
    counts = enrolled_by_school()
    return {"schools": len(ids), "students": sum(counts.get(pk, 0) for pk in ids)}


def can_edit_responsibility(user: User, school: School) -> bool:
    """The level above edits: county for center and county-direct schools, township for the rest."""
    scope = scope_of(user)
    if scope is None:
        return False
    if scope.role == Role.COUNTY:
        return True
    return (
        scope.role == Role.TOWNSHIP
        and school.township_id == scope.township_id
        and school.oversight == "township"
        and not school.is_center
    )


# --------------------------------------------------------------------------- status on a day

RESUME_KINDS = (StatusChange.Kind.RESUME, StatusChange.Kind.RETURNED)


def absence_covering(day: dt.date, student: str = "pk") -> Exists:
    """A 请假 or 休学 covers `day`: it started on or before `day`, its end (if recorded) is not
    before `day`, and no 复学/劝返复学 dated after its start and on or before `day` ended it."""
    resumed = StatusChange.objects.filter(
        student_id=OuterRef("student_id"), kind__in=RESUME_KINDS,
        effective_date__gt=OuterRef("effective_date"), effective_date__lte=day)
    return Exists(
        StatusChange.objects.filter(
            student_id=OuterRef(student),
            kind__in=(StatusChange.Kind.LEAVE, StatusChange.Kind.SUSPEND),
            effective_date__lte=day,
        ).filter(Q(end_date__isnull=True) | Q(end_date__gte=day)).filter(~Exists(resumed))
    )


# --------------------------------------------------------------------------- roster gaps


def roster_unexplained(gaps: QuerySet[RosterGap], day: dt.date) -> QuerySet[RosterGap]:
    """Roster gaps (RosterGap rows) not explained on `day`: the child is still at the school
    the roster left them out of, still 在读 (a 转出, 转学中, 毕业, 休学, 辍学 … is a status change
    that explains it), and no 请假/休学 covers the day."""
    return (gaps.filter(student__school_id=F("school_id"), student__status=Student.Status.ENROLLED)
            .filter(~absence_covering(day, student="student_id")))


# --------------------------------------------------------------------------- transfers


def existing_student(id_number: str) -> Student | None:
    return Student.objects.select_related("school").filter(id_number=id_number).first()


def transfers_for(user: User, *, state: str | None = None) -> QuerySet[TransferRequest]:
    """The transfers the user's side sees (both schools' sides), newest first."""
    qs = TransferRequest.objects.visible_to(user).select_related(
        "student", "from_school", "to_school", "requested_by", "decided_by")
    if state:
        qs = qs.filter(state=state)
    return qs.order_by("-requested_at", "-id")

# --------------------------------------------------------------------------- accounts


def accounts_visible_to(user: User) -> QuerySet[User]:
    """The accounts a user manages in the browser: the county every account (but the support
    staff's superusers); a township center school the school accounts of the schools it
    oversees. Everyone else none. Views fetch single accounts through this (404 otherwise)."""
    scope = scope_of(user)
    qs = User.objects.select_related("township", "school").filter(is_superuser=False)
    if scope is None:
        return qs.none()
    if scope.role == Role.COUNTY:
        return qs
    if scope.role == Role.TOWNSHIP:
        return qs.filter(role=Role.SCHOOL, school__in=School.objects.visible_to(user))
    return qs.none()


def account_roles_for(user: User) -> list[tuple[str, str | Promise]]:
    """Roles a user may give an account it creates or edits."""
    scope = scope_of(user)
    if scope is not None and scope.role == Role.COUNTY:
        return list(Role.choices)
    return [(Role.SCHOOL.value, Role.SCHOOL.label)]


def account_locked(user: User) -> bool:
    """Locked out by django-axes (too many failed logins) on any address."""
    return AccessAttempt.objects.filter(
        username=user.username, failures_since_start__gte=settings.AXES_FAILURE_LIMIT).exists()


def locked_usernames() -> QuerySet:
    """User names locked out by django-axes (too many failed logins) on any address: a
    subquery, for the account list's 已锁定 filter and badges."""
    return (AccessAttempt.objects.filter(failures_since_start__gte=settings.AXES_FAILURE_LIMIT)
            .values("username"))


def account_has_otp(user: User) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()
