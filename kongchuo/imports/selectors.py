"""Reads of import jobs for a user: the import history is scoped like the data it touched."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from kongchuo.access.scoping import OVERSIGHT_TOWNSHIP, Role, scope_of
from kongchuo.imports.pipeline import JOB_PREFIX
from kongchuo.models import Job


def import_jobs_visible_to(user: Any) -> QuerySet[Job]:
    """County: every import (the operator CLI's too). Township: imports by its own users and
    by users of its schools. School: imports by users of that school. Others: none."""
    jobs = Job.objects.filter(kind__startswith=JOB_PREFIX).select_related("created_by")
    scope = scope_of(user)
    if scope is None:
        return jobs.none()
    if scope.role == Role.COUNTY:
        return jobs
    if scope.role == Role.TOWNSHIP:
        return jobs.filter(Q(created_by__township_id=scope.township_id)
                           | Q(created_by__school__township_id=scope.township_id,
                               created_by__school__oversight=OVERSIGHT_TOWNSHIP))
    if scope.role == Role.SCHOOL and scope.school_id is not None:  # scope_of sets it for a school
        return jobs.filter(created_by__school_id=scope.school_id)
    return jobs.none()
