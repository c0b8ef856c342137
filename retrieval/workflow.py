"""What every step of the 劝返 workflow shares, whatever its sub-domain: the refusal it raises,
row locks, optimistic versions, the levels a user acts at.

The services of alerts, cases, feedback and supervision build on these: every step is atomic,
locks the rows it changes (`row_lock`: `select_for_update().order_by("pk")`, the alert or case
first, then its child rows), checks the caller's scope again (`require_scope`) and level, and
appends a dated, signed row; nothing is deleted. Edits of a case or an answer carry the version
the form was opened with (`StaleEdit` when someone saved in between).
"""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _

from kongchuo.access.scoping import OVERSIGHT_TOWNSHIP, Role, scope_of
from kongchuo.calendar.schoolyear import today as local_today
from retrieval.models import Level
from students.services import StaleEdit

STAFF_ROLES = (Role.COUNTY, Role.TOWNSHIP, Role.SCHOOL)


class WorkflowError(Exception):
    """A step the workflow refuses (wrong state, missing evidence…); the message is for the user."""


def row_lock(model, pk):
    return model.objects.select_for_update().order_by("pk").get(pk=pk)


def require_scope(queryset, user, pk) -> None:
    """Defence in depth: views fetch through `visible_to` already; a service called from
    elsewhere (a task, the shell, a test) must not act outside the user's scope either."""
    if not queryset.visible_to(user).filter(pk=pk).exists():
        raise PermissionDenied


def check_version(obj, version: int | None) -> None:
    if version is not None and obj.version != version:
        raise StaleEdit(_("该记录已被他人修改，请刷新后重试"))


def version_bump(obj, fields: list[str], user) -> None:
    obj.version += 1
    obj._history_user = user  # simple_history: sign the edit outside a request
    obj.save(update_fields=[*fields, "version"])


def not_future(day: dt.date | None, label: str) -> None:
    if day is not None and day > local_today():
        raise WorkflowError(_("%(label)s不能晚于今天") % {"label": label})


# --------------------------------------------------------------------------- levels


def level_of(user) -> str | None:
    scope = scope_of(user)
    return scope.role if scope is not None else None


def level_above_school(school) -> str:
    """The level that reviews a school's decisions: its township center school, or the county
    for a county-direct school."""
    if school is not None and school.oversight == OVERSIGHT_TOWNSHIP:
        return Level.TOWNSHIP
    return Level.COUNTY


def level_above(level: str, school=None) -> str:
    if level == Level.SCHOOL:
        return level_above_school(school)
    return Level.COUNTY


def require_county(user) -> None:
    if level_of(user) != Role.COUNTY:
        raise PermissionDenied
