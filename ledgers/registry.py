"""The eleven ledgers (plus the two sub-logs) as data: one place naming slug, model, dates, owner.

Views, exports, the menu and the student panel all read this table instead of repeating the
list, so adding a column or a ledger touches one spot. The slugs of the eleven ledgers are the
`export_ledger` NAMEs (a contract with county operators; keep them stable).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import models
from django.utils.translation import gettext_lazy as _

from ledgers.models import (
    Absence,
    AidRecord,
    Deferral,
    FamilyContact,
    HomeTeachingPlan,
    HomeTeachingVisit,
    LearningSupportNote,
    LearningSupportPlan,
    OutOfCountyRecord,
    PublicityActivity,
    ReturnReport,
    VocationalRecord,
)
from students.models import StatusChange


@dataclass(frozen=True)
class LedgerKind:
    slug: str
    title: str  # as in the official title: "霍邱县XX学校2024年春季学期<title>台账"
    model: type[models.Model]
    date_field: str  # the date a term/date-range filter applies to
    icon: str = "bi-journal-text"
    order: int = 100
    student_path: str | None = "student"  # ORM path to the student, None for school ledgers
    term_field: str | None = None  # ledgers kept per term carry the term code itself
    parent: str | None = None  # sub-logs (visits, notes) hang under a parent ledger
    parent_field: str = ""
    editable: bool = True  # StatusChange rows are append-only history (corrections are new rows)
    in_menu: bool = True

    @property
    def school_path(self) -> str:
        return self.model.objects.all().school_path  # type: ignore[attr-defined]

    @property
    def verbose(self) -> str:
        return str(self.title)


KINDS: dict[str, LedgerKind] = {k.slug: k for k in [
    LedgerKind("status_changes", _("学籍变动"), StatusChange, "effective_date", "bi-arrow-left-right",
               20, editable=False),
    LedgerKind("returns", _("返校报到"), ReturnReport, "reported_on", "bi-check2-square", 21,
               term_field="term"),
    LedgerKind("vocational", _("中职就读"), VocationalRecord, "start_date", "bi-tools", 22),
    LedgerKind("out_of_county", _("外县就读"), OutOfCountyRecord, "start_date", "bi-signpost-2", 23),
    LedgerKind("deferrals", _("延缓入学"), Deferral, "start_date", "bi-hourglass-split", 24,
               student_path=None),
    LedgerKind("home_teaching", _("送教上门"), HomeTeachingPlan, "start_date", "bi-house-heart", 25),
    LedgerKind("learning_support", _("学困生帮扶"), LearningSupportPlan, "start_date",
               "bi-lightbulb", 26),
    LedgerKind("aid", _("资助"), AidRecord, "granted_on", "bi-cash-coin", 27, term_field="term"),
    LedgerKind("family_contact", _("家校联系"), FamilyContact, "contact_date", "bi-telephone", 28,
               student_path=None),
    LedgerKind("absences", _("缺课登记"), Absence, "start_date", "bi-calendar-x", 29),
    LedgerKind("publicity", _("宣传教育"), PublicityActivity, "activity_date", "bi-megaphone", 30,
               student_path=None),
    LedgerKind("home_teaching_visits", _("送教上门记录"), HomeTeachingVisit, "visit_date",
               student_path="plan__student", parent="home_teaching", parent_field="plan",
               in_menu=False),
    LedgerKind("learning_support_notes", _("帮扶记录"), LearningSupportNote, "note_date",
               student_path="plan__student", parent="learning_support", parent_field="plan",
               in_menu=False),
]}

# The eleven ledgers of the issue, in its order: the `export_ledger` NAMEs.
LEDGER_NAMES = [slug for slug, k in KINDS.items() if k.parent is None]


def kind_for_model(model: type[models.Model]) -> LedgerKind | None:
    for kind in KINDS.values():
        if kind.model is model:
            return kind
    return None


def school_id_of(obj: models.Model, path: str) -> int | None:
    """Follow `path` ("student__school") from obj and return the school id (one attribute hop
    per level; callers select_related the path so this costs no query)."""
    parts = path.split("__")
    for part in parts[:-1]:
        obj = getattr(obj, part)
        if obj is None:
            return None
    return getattr(obj, f"{parts[-1]}_id")
