"""The student page's 学年结转 block: what the year-end rollover will do with the child, and the
留级 list entry (add / withdraw) for whoever keeps the child's records."""

from __future__ import annotations

from django.utils.translation import gettext as _

from kongchuo.access.scoping import Role, scope_of
from kongchuo.calendar.schoolyear import current_school_year, year_label
from students.forms import RepeatForm
from students.models import School, Student
from students.rollover import GRADE_NAMES, HELD, MOVING
from students.services import repeat_of_year

EDITORS = (Role.COUNTY, Role.TOWNSHIP, Role.SCHOOL)


def next_step(student: Student, repeat) -> str:
    """What the rollover will do with the child, in a sentence."""
    if student.status in HELD:
        return _("不升级（%(status)s）") % {"status": student.get_status_display()}
    if student.status not in MOVING:
        return _("不在籍，不参加结转")
    if repeat is not None:
        return _("留级，仍读%(grade)s") % {"grade": GRADE_NAMES[student.grade]}
    if student.grade == 9:
        return _("初中毕业（完成义务教育）")
    if student.grade == 6 and student.school.kind in School.PRIMARY_ONLY:
        junior = student.school.junior_school
        return _("小学毕业，对口初中：%(school)s") % {"school": junior.name if junior else _("未设置")}
    return _("升入%(grade)s") % {"grade": GRADE_NAMES[student.grade + 1]}


def student_year_panel(request, student) -> dict | None:
    scope = scope_of(request.user)
    if scope is None or scope.role not in EDITORS:
        return None
    year = current_school_year()
    repeat = repeat_of_year(student, year) if student.status in MOVING else None
    return {
        "title": _("学年结转"),
        "template": "students/_year_panel.html",
        "student": student,
        "year_label": year_label(year),
        "next_step": next_step(student, repeat),
        "repeat": repeat,
        "can_repeat": student.status in MOVING,
        "form": RepeatForm(),
    }
