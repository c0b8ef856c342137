"""Reads of the ledgers: who may write what, annotated lists, the at-a-glance gaps, history."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, cast

from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import BooleanField, Case, CharField, Count, Exists, OuterRef, Q, QuerySet, Value, When
from django.utils.translation import gettext, pgettext_lazy

from kongchuo.access.idnumbers import mask_id, mask_phone
from kongchuo.access.scoping import OVERSIGHT_COUNTY, OVERSIGHT_TOWNSHIP, Role, scope_of
from kongchuo.calendar.schoolyear import Term, parse_term, today
from ledgers.models import (
    Absence,
    AidRecord,
    Attachment,
    Deferral,
    HomeTeachingPlan,
    HomeTeachingVisit,
    ReturnReport,
)
from ledgers.registry import KINDS, LedgerKind, school_id_of
from students.models import StatusChange, Student, User
from students.support import aid_priority

EXPIRY_WARNING_DAYS = 10
MIN_VISITS_PER_MONTH = 2
AT_RISK_SCHOOL_DAYS = 3
POOR = aid_priority()  # every support group that is a priority of aid (students.support)
# Students who should be at school and therefore must report back / receive 两免一补.
EXPECTED_AT_SCHOOL = (Student.Status.ENROLLED,)
AID_ELIGIBLE = (Student.Status.ENROLLED, Student.Status.HOME_TEACHING, Student.Status.SUSPENDED)

# select_related per ledger so a list page is one query whatever its length.
RELATED = {
    "status_changes": ("student__school", "to_school", "created_by"),
    "returns": ("student__school", "created_by"),
    "vocational": ("student__school", "created_by"),
    "out_of_county": ("student__school", "created_by"),
    "deferrals": ("school", "student", "created_by", "reviewed_by"),
    "home_teaching": ("student__school", "created_by"),
    "learning_support": ("student__school", "created_by"),
    "aid": ("student__school", "created_by"),
    "family_contact": ("school", "student", "created_by"),
    "absences": ("student__school", "created_by"),
    "publicity": ("school", "created_by"),
    "home_teaching_visits": ("plan__student__school", "created_by"),
    "learning_support_notes": ("plan__student__school", "created_by"),
}


def entries_for(kind: LedgerKind, user: User) -> QuerySet[Any]:
    """The scoped queryset every page, panel and browser export of `kind` starts from."""
    # The registry types the model as Model; every ledger model's manager is a scoped one.
    manager = kind.model.objects  # type: ignore[attr-defined]
    return manager.visible_to(user).select_related(*RELATED[kind.slug])


def can_write(user: User) -> bool:
    """Ledger entries are kept by the school that holds the child (DESIGN.md §2)."""
    scope = scope_of(user)
    return scope is not None and scope.role == Role.SCHOOL


def can_edit_entry(user: User, kind: LedgerKind, entry: Any) -> bool:
    scope = scope_of(user)
    if scope is None or scope.role != Role.SCHOOL or not kind.editable:
        return False
    if kind.slug == "deferrals" and entry.review != Deferral.Review.PENDING:
        return False
    return school_id_of(entry, kind.school_path) == scope.school_id


def can_attach(user: User, kind: LedgerKind, entry: models.Model) -> bool:
    """Evidence may be added by the owning school even to append-only or reviewed entries."""
    scope = scope_of(user)
    return (scope is not None and scope.role == Role.SCHOOL
            and school_id_of(entry, kind.school_path) == scope.school_id)


def can_review_deferral(user: User, deferral: Deferral) -> bool:
    """The township center school reviews its township's schools; the county reviews the
    county-direct schools, which have no township above them."""
    scope = scope_of(user)
    if scope is None:
        return False
    school = deferral.school
    if scope.role == Role.TOWNSHIP:
        return school.oversight == OVERSIGHT_TOWNSHIP and school.township_id == scope.township_id
    return scope.role == Role.COUNTY and school.oversight == OVERSIGHT_COUNTY


def reviewable_deferrals(user: User) -> QuerySet[Deferral]:
    scope = scope_of(user)
    qs = Deferral.objects.visible_to(user).filter(review=Deferral.Review.PENDING)
    if scope is None:
        return qs.none()
    if scope.role == Role.TOWNSHIP:
        return qs
    if scope.role == Role.COUNTY:
        return qs.filter(school__oversight=OVERSIGHT_COUNTY)
    return qs.none()


def deferral_expiry(deferral: Deferral, today: dt.date) -> str:
    """"expiring" within 10 days of its end, "expired" after it, "" otherwise."""
    if deferral.review != Deferral.Review.APPROVED:
        return ""
    if deferral.end_date < today:
        return "expired"
    if deferral.end_date <= today + dt.timedelta(days=EXPIRY_WARNING_DAYS):
        return "expiring"
    return ""


def expiring_deferrals(qs: QuerySet[Deferral], today: dt.date) -> QuerySet[Deferral]:
    return qs.filter(review=Deferral.Review.APPROVED, end_date__gte=today,
                     end_date__lte=today + dt.timedelta(days=EXPIRY_WARNING_DAYS))


# --------------------------------------------------------------------------- 返校报到


def as_of_in(term: Term) -> dt.date:
    """Today, held inside the term (its end for a past term, its start for a coming one)."""
    return min(max(today(), term.start), term.end)


def leave_covering(day: dt.date, student_ref: str = "pk") -> QuerySet[StatusChange]:
    """A 请假 on file for the child that covers `day` (an open-ended one counts)."""
    return StatusChange.objects.filter(
        student=OuterRef(student_ref), kind=StatusChange.Kind.LEAVE, effective_date__lte=day,
    ).filter(Q(end_date__isnull=True) | Q(end_date__gte=day))


def _leave_in_term(term: Term) -> QuerySet[StatusChange]:
    return leave_covering(as_of_in(term))


def not_reported(students: QuerySet[Student], term: Term) -> QuerySet[Student]:
    """Children expected back this term with no 返校报到 and not on leave now (a leave that
    has ended no longer excuses a child who has still not reported).

    Transfers, suspensions, 外县/中职/延缓/送教 already moved the child's status away from 在读.
    """
    reported = ReturnReport.objects.filter(student=OuterRef("pk"), term=term.code)
    return (students.filter(status__in=EXPECTED_AT_SCHOOL)
            .exclude(Exists(reported)).exclude(Exists(_leave_in_term(term))))


def class_roll(school_id: int, term: Term) -> QuerySet[Student, dict[str, Any]]:
    """Per class of a school: how many are expected and how many have reported this term."""
    reported = ReturnReport.objects.filter(student=OuterRef("pk"), term=term.code)
    return (Student.objects.filter(school_id=school_id, status__in=EXPECTED_AT_SCHOOL)
            .annotate(done=Exists(reported))
            .values("grade", "class_name")
            .annotate(total=Count("pk"), reported=Count("pk", filter=Q(done=True)))
            .order_by("grade", "class_name"))


def class_students(school_id: int, grade: int, class_name: str, term: Term) -> QuerySet[Student]:
    report = ReturnReport.objects.filter(student=OuterRef("pk"), term=term.code)
    return (Student.objects.filter(school_id=school_id, grade=grade, class_name=class_name,
                                   status__in=EXPECTED_AT_SCHOOL)
            .annotate(done=Exists(report), on_leave=Exists(_leave_in_term(term)))
            .order_by("name", "pk"))


# --------------------------------------------------------------------------- 资助


def poor_without_aid(students: QuerySet[Student], term: Term) -> QuerySet[Student]:
    """建档立卡/脱贫/监测/低保/特困 children in school with no aid record this term."""
    aided = AidRecord.objects.filter(student=OuterRef("pk"), term=term.code)
    return students.filter(POOR, status__in=AID_ELIGIBLE).exclude(Exists(aided))


# --------------------------------------------------------------------------- 送教上门


def month_bounds(month: dt.date) -> tuple[dt.date, dt.date]:
    first = month.replace(day=1)
    nxt = (first + dt.timedelta(days=32)).replace(day=1)
    return first, nxt - dt.timedelta(days=1)


def with_month_visits(plans: QuerySet[HomeTeachingPlan], month: dt.date) -> QuerySet[HomeTeachingPlan]:
    first, last = month_bounds(month)
    return plans.annotate(
        month_visits=Count("visits", filter=Q(visits__visit_date__range=(first, last))),
        below_minimum=Case(
            When(month_visits__lt=MIN_VISITS_PER_MONTH, then=Value(True)),
            default=Value(False), output_field=BooleanField()),
    )


def visits_of(plan: HomeTeachingPlan) -> QuerySet[HomeTeachingVisit]:
    return HomeTeachingVisit.objects.filter(plan=plan).select_related("created_by").order_by(
        "visit_date", "pk")


# --------------------------------------------------------------------------- 缺课


def covered_by_leave() -> Exists:
    """A 请假 on the child's record covering the whole absence (for a queryset of Absence rows):
    such days are excused, for the ledger's risk flag and the 连续缺课 sweep alike."""
    return Exists(StatusChange.objects.filter(
        student=OuterRef("student"), kind=StatusChange.Kind.LEAVE,
        effective_date__lte=OuterRef("start_date"), end_date__gte=OuterRef("end_date")))


def with_risk(absences: QuerySet[Absence]) -> QuerySet[Absence]:
    """An unexplained run of ≥ 3 school days not fully covered by a 请假 makes the child at risk."""
    return absences.annotate(on_leave=covered_by_leave()).annotate(at_risk=Case(
        When(explained=False, school_days__gte=AT_RISK_SCHOOL_DAYS, on_leave=False, then=Value(True)),
        default=Value(False), output_field=BooleanField()))


# --------------------------------------------------------------------------- edit history


@dataclass
class HistoryRow:
    at: dt.datetime
    user: str
    action: str
    changes: list[tuple[str, str, str]] = field(default_factory=list)


_HIDDEN = {"updated_at", "version", "created_at", "created_by"}
_ACTIONS = {"+": pgettext_lazy("history", "新增"), "~": pgettext_lazy("history", "修改"),
            "-": pgettext_lazy("history", "删除")}


def _display(model: type[models.Model], name: str, value: object, related: dict) -> str:
    if value is None or value == "":
        return "—"
    f = cast(models.Field, model._meta.get_field(name))  # a history row holds concrete columns only
    if f.choices:
        return str(dict(f.flatchoices).get(value, value))
    if f.is_relation:
        return related.get((name, value), f"#{value}")
    if isinstance(value, bool):
        return gettext("是") if value else gettext("否")
    if name == "id_number":
        return mask_id(str(value))
    if name.endswith("phone"):
        return mask_phone(str(value))
    return str(value)


def entry_history(entry: Any) -> list[HistoryRow]:
    """Each save of the entry, newest first, with the fields it changed (old → new, by whom)."""
    records = list(entry.history.select_related("history_user").order_by("history_date", "history_id"))
    model = type(entry)
    pairs = []
    fk_ids: dict[str, set] = {}
    for prev, rec in zip([None, *records[:-1]], records, strict=True):
        changes = []
        if prev is not None and rec.history_type == "~":
            delta = rec.diff_against(prev, excluded_fields=list(_HIDDEN))
            changes = [(c.field, c.old, c.new) for c in delta.changes]
            for name, old, new in changes:
                if model._meta.get_field(name).is_relation:
                    fk_ids.setdefault(name, set()).update(v for v in (old, new) if v is not None)
        pairs.append((rec, changes))
    related: dict = {}
    for name, ids in fk_ids.items():
        rel_model = model._meta.get_field(name).related_model
        for pk, obj in rel_model._default_manager.in_bulk(list(ids)).items():
            related[(name, pk)] = str(obj)
    rows = []
    for rec, changes in reversed(pairs):
        user = rec.history_user
        rows.append(HistoryRow(
            at=rec.history_date,
            user=(user.get_full_name() or user.username) if user else gettext("系统"),
            action=str(_ACTIONS.get(rec.history_type, rec.history_type)),
            changes=[(str(model._meta.get_field(n).verbose_name), _display(model, n, o, related),
                      _display(model, n, v, related)) for n, o, v in changes],
        ))
    return rows


# --------------------------------------------------------------------------- student page


def entry_summary(kind: LedgerKind, e: Any) -> str:
    """One line per entry for the student page."""
    def term_label(code: str) -> str:
        try:
            return parse_term(code).label
        except ValueError:
            return code

    slug = kind.slug
    if slug == "returns":
        return gettext("%(term)s %(day)s 已报到") % {"term": term_label(e.term), "day": f"{e.reported_on:%Y-%m-%d}"}
    if slug == "vocational":
        return f"{e.start_date:%Y-%m-%d} {e.school_name} {e.major}".strip()
    if slug == "out_of_county":
        return f"{e.start_date:%Y-%m-%d} {e.county} {e.school_name}"
    if slug == "deferrals":
        return gettext("%(start)s 至 %(end)s %(review)s") % {
            "start": f"{e.start_date:%Y-%m-%d}", "end": f"{e.end_date:%Y-%m-%d}", "review": e.get_review_display()}
    if slug == "home_teaching":
        return gettext("%(start)s 起 · 送教 %(visits)s 次 · %(teachers)s") % {
            "start": f"{e.start_date:%Y-%m-%d}", "visits": e.n_visits, "teachers": e.teachers}
    if slug == "learning_support":
        return gettext("%(start)s 起 · %(teacher)s · %(state)s") % {
            "start": f"{e.start_date:%Y-%m-%d}", "teacher": e.teacher,
            "state": gettext("帮扶中") if e.active else gettext("已结束")}
    if slug == "aid":
        return gettext("%(term)s %(kind)s %(amount)s元") % {
            "term": term_label(e.term), "kind": e.get_kind_display(), "amount": e.amount}
    if slug == "family_contact":
        return f"{e.contact_date:%Y-%m-%d} {e.get_kind_display()} {e.staff}"
    if slug == "absences":
        state = gettext("已说明原因") if e.explained else gettext("未说明原因")
        return gettext("%(start)s 至 %(end)s 缺课%(days)s天 %(state)s") % {
            "start": f"{e.start_date:%Y-%m-%d}", "end": f"{e.end_date:%Y-%m-%d}", "days": e.school_days,
            "state": state}
    return str(e)


def student_entries(user: User, student: Student) -> list[dict]:
    """Every ledger entry about one student the user may see, grouped by ledger (one query per
    ledger, at most 20 entries each)."""
    # The status timeline is on the student page already; sub-logs show under their plan.
    kinds = [k for k in KINDS.values()
             if not (k.parent or k.slug == "status_changes" or k.slug == "publicity")]
    # Most children appear in one or two ledgers: one UNION ALL finds which, then only those
    # are read (instead of a query for each of the eight ledgers on every student page).
    parts = [entries_for(k, user).filter(student=student).order_by()
             .annotate(ledger=Value(k.slug, output_field=CharField())).values_list("ledger", flat=True)
             for k in kinds]
    present = set(parts[0].union(*parts[1:], all=True)) if parts else set()
    groups = []
    for kind in kinds:
        if kind.slug not in present:
            continue
        qs = entries_for(kind, user).filter(student=student)
        if kind.slug == "home_teaching":
            qs = qs.annotate(n_visits=Count("visits"))
        items = [{"pk": e.pk, "text": entry_summary(kind, e)}
                 for e in qs.order_by(f"-{kind.date_field}", "-pk")[:20]]
        if items:
            groups.append({"kind": kind, "items": items})
    return groups


# --------------------------------------------------------------------------- 转出县外


def transfers_without_proof(changes: QuerySet[StatusChange]) -> QuerySet[StatusChange]:
    """转出县外 rows (a 转出 with no school of the county as destination) of children still
    recorded 外县就读 by that 转出, with no file attached (the 接收证明): the worklist, and the
    11–12月 feedback verification's 转出县外缺接收证明 rule. A later 转出 of the same child
    supersedes an earlier one."""
    proof = Attachment.objects.filter(content_type=ContentType.objects.get_for_model(StatusChange),
                                      object_id=OuterRef("pk"))
    later = StatusChange.objects.filter(student_id=OuterRef("student_id"),
                                        kind=StatusChange.Kind.TRANSFER_OUT,
                                        effective_date__gt=OuterRef("effective_date"))
    return (changes.filter(kind=StatusChange.Kind.TRANSFER_OUT, to_school__isnull=True,
                           student__status=Student.Status.OUT_OF_COUNTY)
            .filter(~Exists(proof)).filter(~Exists(later)))
