"""Multi-model reads of the core app."""

from __future__ import annotations

from django.db.models import Count, Q

from kongchuo.scoping import Role, scope_of
from students.models import School, Student, Township


def school_list_for(user):
    return (
        School.objects.visible_to(user)
        .select_related("township")
        .annotate(
            n_students=Count("students", filter=Q(students__status=Student.Status.ENROLLED)),
        )
    )


def township_summary(township: Township) -> dict:
    schools = School.objects.filter(township=township, oversight="township")
    students = Student.objects.filter(school__in=schools)
    return {
        "schools": schools.count(),
        "students": students.filter(status=Student.Status.ENROLLED).count(),
    }


def can_edit_responsibility(user, school: School) -> bool:
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
