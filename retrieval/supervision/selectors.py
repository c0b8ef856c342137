"""Reads of 督查: who reports a rectification, and the teacher-conduct findings per township."""

from __future__ import annotations

from django.db.models import Count
from django.db.models.functions import Coalesce

from kongchuo.access.scoping import Role
from retrieval.models import RectificationOrder, SupervisionFinding
from retrieval.workflow import level_of
from students.models import User


def can_report_rectification(user: User, order: RectificationOrder) -> bool:
    return order.status == RectificationOrder.Status.OPEN and level_of(user) in (
        Role.SCHOOL, Role.TOWNSHIP)


def teacher_conduct_counts() -> list[dict]:
    """Findings that a teacher's conduct drove a child out, per township (规范办学行为)."""
    return list(
        SupervisionFinding.objects.filter(kind=SupervisionFinding.Kind.TEACHER_CONDUCT)
        .annotate(tname=Coalesce("school__township__name", "township__name"))
        .values("tname").annotate(n=Count("pk")).order_by("-n", "tname")
    )
