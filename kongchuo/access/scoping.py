"""Who sees what: the one place scoping is decided (DESIGN.md §2).

Every model that holds children's data gets a QuerySet deriving from `ScopedQuerySet`, names
the path to its school (`school_path`), and every view, export, API and task that reads for a
user goes through `.visible_to(user)`. Views fetch single objects with `access_object`, which
answers 404 for "missing" and "not yours" alike.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.db import models
from django.db.models import Q
from django.http import Http404
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    COUNTY = "county", _("县教育局")
    TOWNSHIP = "township", _("乡镇中心学校")
    SCHOOL = "school", _("学校")
    TOWNSHIP_GOV = "township_gov", _("属地政府")


OVERSIGHT_TOWNSHIP = "township"
OVERSIGHT_COUNTY = "county"


@dataclass(frozen=True)
class Scope:
    role: str
    township_id: int | None = None
    school_id: int | None = None

    @property
    def is_county(self) -> bool:
        return self.role == Role.COUNTY


def scope_of(user) -> Scope | None:
    """The user's scope, or None for anonymous/inactive users or users with no valid role."""
    if user is None or not user.is_authenticated or not user.is_active:
        return None
    role = getattr(user, "role", "")
    if role == Role.COUNTY:
        return Scope(role)
    if role in (Role.TOWNSHIP, Role.TOWNSHIP_GOV) and user.township_id:
        return Scope(role, township_id=user.township_id)
    if role == Role.SCHOOL and user.school_id:
        return Scope(role, school_id=user.school_id)
    return None


class ScopedQuerySet(models.QuerySet):
    """Base for every queryset holding data of a school's children.

    `school_path` is the ORM path from the model to its `School` ("school", "student__school",
    or "" for School itself). A township sees schools of its township under township oversight
    (county-direct schools answer to the county). `township_gov` sees nothing by default; a
    queryset widens that where the government acts (escalated cases only).

    `county_only()` names rows that only the county sees whatever their route: a suspected
    violation by the school a row is routed to (and by the township that oversees it) must not
    reach the accused, however it is read (lists, detail, counts, figures, digests).
    """

    school_path = "school"

    def _school_lookup(self, suffix: str) -> str:
        """The lookup of the school's field `suffix` from this model ("student__school__oversight")."""
        return f"{self.school_path}__{suffix}" if self.school_path else suffix

    def in_school(self, school_id: int):
        key = f"{self.school_path}_id" if self.school_path else "pk"
        return self.filter(**{key: school_id})

    def in_township(self, township_id: int):
        return self.filter(
            **{self._school_lookup("township_id"): township_id,
               self._school_lookup("oversight"): OVERSIGHT_TOWNSHIP}
        )

    def for_township_gov(self, township_id: int):
        return self.none()

    def county_only(self) -> Q | None:
        """Rows below the county never see, whatever their route; None: there are none."""
        return None

    def visible_to(self, user):
        scope = scope_of(user)
        if scope is None:
            return self.none()
        if scope.role == Role.COUNTY:
            return self.all()
        if scope.role == Role.TOWNSHIP:
            qs = self.in_township(scope.township_id)
        elif scope.role == Role.SCHOOL:
            qs = self.in_school(scope.school_id)
        elif scope.role == Role.TOWNSHIP_GOV:
            qs = self.for_township_gov(scope.township_id)
        else:
            return self.none()
        hidden = self.county_only()
        return qs if hidden is None else qs.exclude(hidden)


def scope_covers_school(scope: Scope | None, school) -> bool:
    """Whether a user of `scope` acts for `school` (writes that name a school: imports, forms):
    the county for every school, a township for the schools under its oversight, a school for
    itself. The write-side twin of `ScopedQuerySet.visible_to` (township_gov acts for none)."""
    if scope is None:
        return False
    if scope.role == Role.COUNTY:
        return True
    if scope.role == Role.TOWNSHIP:
        return school.township_id == scope.township_id and school.oversight == OVERSIGHT_TOWNSHIP
    if scope.role == Role.SCHOOL:
        return school.pk == scope.school_id
    return False


def covers_school(user, school) -> bool:
    return scope_covers_school(scope_of(user), school)


def access_object(queryset, user, **lookup):
    """Fetch one object the user may see; 404 whether it is missing or out of scope."""
    try:
        return queryset.visible_to(user).get(**lookup)
    except (queryset.model.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404 from exc


def require_role(user, *roles: str) -> Scope:
    """Scope of a user who must hold one of `roles`; otherwise PermissionDenied (403)."""
    scope = scope_of(user)
    if scope is None or scope.role not in roles:
        raise PermissionDenied
    return scope
