"""The student page's ledger block (registered with kongchuo.portal.panels)."""

from __future__ import annotations

from django.utils.translation import gettext as _

from kongchuo.access.scoping import Role, scope_of
from ledgers.registry import KINDS
from ledgers.selectors import can_write, student_entries

QUICK_ADD = ("status_changes", "home_teaching", "learning_support", "aid", "family_contact",
             "absences", "vocational", "out_of_county")


def student_ledger_panel(request, student) -> dict | None:
    scope = scope_of(request.user)
    if scope is None or scope.role not in (Role.COUNTY, Role.TOWNSHIP, Role.SCHOOL):
        return None
    writable = can_write(request.user) and student.school_id == scope.school_id
    return {
        "title": _("工作台账"),
        "template": "ledgers/_student_panel.html",
        "groups": student_entries(request.user, student),
        "quick_add": [KINDS[s] for s in QUICK_ADD] if writable else [],
        "student": student,
    }
