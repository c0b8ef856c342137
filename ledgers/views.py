"""Pages of the ledgers: parse, scope, call a service, render. No ORM writes here.

This module holds the lists, entry forms and detail pages, and the helpers the other two share;
`views_worklists` the 返校报到 / 未资助 / 转出县外 worklists, `views_files` exports and attachments.

Every page is for county, township and school users (township_gov: 403). Objects are fetched
with `access_object` (404 for missing and out-of-scope alike); writes need the owning school
(403 otherwise), deferral reviews the level above the school.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST
from django_tables2 import RequestConfig

from kongchuo.access.idnumbers import mask_id, mask_phone
from kongchuo.access.scoping import Role, access_object, require_role, scope_of
from kongchuo.calendar.schoolyear import Term, current_term, parse_term, today
from kongchuo.imports.base import get_kind
from kongchuo.portal.menu import menu_section
from ledgers.attachments import ACCEPT, HELP
from ledgers.filters import filter_for, month_of
from ledgers.forms import (
    FORMS,
    AttachmentForm,
    DeferralReviewForm,
    ExportForm,
    StatusChangeForm,
    term_choices,
)
from ledgers.models import Attachment, Deferral, HomeTeachingPlan, HomeTeachingVisit
from ledgers.registry import KINDS, LedgerKind
from ledgers.selectors import (
    MIN_VISITS_PER_MONTH,
    RELATED,
    can_attach,
    can_edit_entry,
    can_review_deferral,
    can_write,
    deferral_expiry,
    entries_for,
    entry_history,
    expiring_deferrals,
    not_reported,
    poor_without_aid,
    reviewable_deferrals,
    transfers_without_proof,
    visits_of,
    with_month_visits,
    with_risk,
)
from ledgers.services import (
    StaleEdit,
    deferral_review,
    ledger_entry_create,
    ledger_entry_update,
    status_change_record,
)
from ledgers.tables import TABLES
from students.counts import CachedCountPaginator, cached_count
from students.models import STATUS_CHANGE_SOURCES, StatusChange, Student, TransferRequest

STAFF = (Role.COUNTY, Role.TOWNSHIP, Role.SCHOOL)
STALE_MESSAGE = gettext_lazy("该记录在您打开后已被他人修改并保存，您的修改没有保存。请查看下方当前内容，刷新后重新填写。")


def term_from_param(value: str | None) -> Term:
    allowed = {code for code, _label in term_choices(back=8)}
    if value and value in allowed:
        return parse_term(value)
    return current_term()


def is_school_user(user) -> bool:
    scope = scope_of(user)
    return scope is not None and scope.role == Role.SCHOOL


# --------------------------------------------------------------------------- lists


def _annotated(kind: LedgerKind, qs, request):
    if kind.slug == "home_teaching":
        return with_month_visits(qs, month_of(request.GET.get("month")))
    if kind.slug == "absences":
        return with_risk(qs)
    if kind.slug == "learning_support":
        return qs.annotate(n_notes=Count("notes"))
    return qs


def _summary(kind: LedgerKind, request) -> list[dict]:
    """The at-a-glance line above a list: one count query per figure (cached while the tables
    it reads are unchanged: students.counts)."""
    user = request.user
    out: list[dict] = []
    if kind.slug == "returns":
        term = current_term()
        n = cached_count(not_reported(Student.objects.visible_to(user), term))
        out.append({"label": _("%(term)s未报到") % {"term": term.label}, "value": n, "tone": "danger" if n else "success",
                    "url": reverse("ledgers:returns_missing") + f"?term={term.code}"})
    elif kind.slug == "aid":
        term = current_term()
        n = cached_count(poor_without_aid(Student.objects.visible_to(user), term))
        out.append({"label": _("%(term)s困难学生未资助") % {"term": term.label}, "value": n,
                    "tone": "danger" if n else "success",
                    "url": reverse("ledgers:aid_uncovered") + f"?term={term.code}"})
    elif kind.slug == "deferrals":
        pending = reviewable_deferrals(user).count()
        if pending:
            out.append({"label": _("待我审核"), "value": pending, "tone": "warning",
                        "url": reverse("ledgers:deferrals") + "?review=pending"})
        n = expiring_deferrals(Deferral.objects.visible_to(user), today()).count()
        out.append({"label": _("10天内到期"), "value": n, "tone": "danger" if n else "secondary",
                    "url": reverse("ledgers:deferrals") + "?expiring=soon"})
    elif kind.slug == "home_teaching":
        month = month_of(request.GET.get("month"))
        n = cached_count(with_month_visits(HomeTeachingPlan.objects.visible_to(user), month).filter(
            below_minimum=True))
        out.append({"label": _("%(month)s送教不足%(n)s次") % {
                        "month": date_format(month, _("Y年m月")), "n": MIN_VISITS_PER_MONTH}, "value": n,
                    "tone": "danger" if n else "success",
                    "url": reverse("ledgers:home_teaching") + f"?month={month:%Y-%m}&below=1"})
    elif kind.slug == "status_changes":
        n = cached_count(transfers_without_proof(StatusChange.objects.visible_to(user)))
        out.append({"label": _("转出县外缺接收证明"), "value": n, "tone": "danger" if n else "success",
                    "url": reverse("ledgers:transfers_missing_proof")})
        n = TransferRequest.objects.visible_to(user).filter(state=TransferRequest.State.PENDING).count()
        out.append({"label": _("县内转学待确认"), "value": n, "tone": "warning" if n else "secondary",
                    "url": reverse("students:transfers")})
        if is_school_user(user):
            out.append({"label": _("登记转出县外"), "value": "+", "tone": "primary",
                        "url": reverse("ledgers:transfer_out_of_county")})
    elif kind.slug == "absences":
        n = cached_count(with_risk(entries_for(kind, user)).filter(at_risk=True))
        out.append({"label": _("连续缺课3天以上未说明原因"), "value": n,
                    "tone": "danger" if n else "success",
                    "url": reverse("ledgers:absences") + "?risk=1"})
    return out


def _import_url(slug: str, user) -> str | None:
    """导入 where the import engine has a kind for this ledger (返校报到, 学籍变动)."""
    kind = get_kind(slug)
    if kind is None or not kind.allowed(scope_of(user)):
        return None
    return reverse("imports:kind", args=[slug])


@login_required
def entry_list(request, slug: str):
    require_role(request.user, *STAFF)
    kind = ledger_kind(request, slug)
    base = _annotated(kind, entries_for(kind, request.user), request).order_by(
        f"-{kind.date_field}", "-pk")
    flt = filter_for(kind)(request.GET or None, queryset=base, user=request.user)
    qs = flt.qs if flt.is_bound and flt.is_valid() else base
    exclude = ("school",) if is_school_user(request.user) else ()
    table = TABLES[slug](qs, exclude=exclude)
    RequestConfig(request, paginate={"per_page": 20, "paginator_class": CachedCountPaginator,
                                     "count_queryset": qs}).configure(table)
    return render(request, "ledgers/entry_list.html", {
        "kind": kind, "filter": flt, "table": table, "can_write": can_write(request.user),
        "summary": _summary(kind, request), "export_form": ExportForm(),
        "import_url": _import_url(slug, request.user),
        "is_county": scope_of(request.user).role == Role.COUNTY,
        "school_param": request.GET.get("school", ""),
    })


# --------------------------------------------------------------------------- forms


def ledger_kind(request, slug: str) -> LedgerKind:
    """The ledger of this page; a sub-log's pages (送教记录, 帮扶记录) sit under its ledger's menu item."""
    kind = KINDS[slug]
    menu_section(request, f"ledgers:{kind.parent or kind.slug}")
    return kind


def _parent(kind: LedgerKind, request, entry=None):
    if not kind.parent:
        return None
    if entry is not None:
        return getattr(entry, kind.parent_field)
    parent_kind = KINDS[kind.parent]
    pk = request.POST.get("plan") or request.GET.get("plan")
    return access_object(parent_kind.model.objects.select_related("student__school"), request.user, pk=pk)


def _form_kwargs(kind: LedgerKind, parent) -> dict:
    return {"plan": parent} if kind.parent else {}


def student_initial(kind: LedgerKind, request) -> dict:
    pk = request.GET.get("student")
    if not pk or request.method != "GET":
        return {}
    student = access_object(Student.objects, request.user, pk=pk)
    initial = {"student": student.pk}
    if kind.slug == "home_teaching":
        initial.update(disability_category=student.disability_category,
                       disability_grade=student.disability_grade)
    if kind.slug == "family_contact":
        initial.update(class_name=f"{student.grade}年级{student.class_name}")
    return initial


def _after_save(kind: LedgerKind, entry) -> str:
    if kind.parent:
        return reverse("ledgers:detail", args=[kind.parent, getattr(entry, f"{kind.parent_field}_id")])
    return reverse("ledgers:detail", args=[kind.slug, entry.pk])


@login_required
@require_http_methods(["GET", "POST"])
def entry_new(request, slug: str):
    require_role(request.user, *STAFF)
    if not can_write(request.user):
        raise PermissionDenied
    kind = ledger_kind(request, slug)
    if slug == "returns":
        return redirect("ledgers:returns_tick")
    if slug == "status_changes":
        return _status_change_new(request, kind)
    parent = _parent(kind, request)
    form = FORMS[slug](request.POST or None, user=request.user,
                       initial=student_initial(kind, request), **_form_kwargs(kind, parent))
    if request.method == "POST" and form.is_valid():
        values = form.model_values()
        if parent is not None:
            values[kind.parent_field] = parent
        try:
            entry = ledger_entry_create(kind=kind, user=request.user, values=values)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("已保存"))
            return redirect(_after_save(kind, entry))
    return render(request, "ledgers/entry_form.html", {
        "kind": kind, "form": form, "parent": parent, "creating": True,
        "status": 400 if form.errors else 200,
    }, status=400 if form.errors else 200)


def _status_change_new(request, kind: LedgerKind):
    initial = student_initial(kind, request)
    form = StatusChangeForm(request.POST or None, user=request.user, initial=initial)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            change = status_change_record(
                user=request.user, student=d["student"], kind=d["kind"],
                effective_date=d["effective_date"], end_date=d["end_date"], to_school=d["to_school"],
                to_county=d["to_county"], to_school_name=d["to_school_name"], reason=d["reason"],
                approved_by=d["approved_by"])
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            if change.kind == StatusChange.Kind.TRANSFER_REQUEST:
                messages.success(request, _("已登记转出，学生状态为“转学中”，待接收学校确认接收"))
                pending = change.student.transfers.filter(state="pending").first()
                if pending is not None:
                    return redirect("students:transfer", pending.pk)
            messages.success(request, _("学籍变动已登记，学生状态已更新"))
            return redirect("ledgers:detail", "status_changes", change.pk)
    return render(request, "ledgers/entry_form.html", {
        "kind": kind, "form": form, "creating": True,
    }, status=400 if form.errors else 200)


def entry_for_user(kind: LedgerKind, request, pk: int):
    return access_object(kind.model.objects.select_related(*RELATED[kind.slug]), request.user, pk=pk)


@login_required
@require_http_methods(["GET", "POST"])
def entry_edit(request, slug: str, pk: int):
    require_role(request.user, *STAFF)
    kind = ledger_kind(request, slug)
    entry = entry_for_user(kind, request, pk)
    if not can_edit_entry(request.user, kind, entry):
        raise PermissionDenied
    parent = _parent(kind, request, entry)
    form = FORMS[slug](request.POST or None, instance=entry, user=request.user,
                       **_form_kwargs(kind, parent))
    current = None
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                saved = ledger_entry_update(entry=entry, user=request.user,
                                            expected_version=form.cleaned_data.get("version"),
                                            values=form.model_values())
            except StaleEdit:
                form.add_error(None, STALE_MESSAGE)
                current = entry_for_user(kind, request, pk)
                status = 409
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                messages.success(request, _("修改已保存"))
                return redirect(_after_save(kind, saved))
    return render(request, "ledgers/entry_form.html", {
        "kind": kind, "form": form, "parent": parent, "entry": entry, "creating": False,
        "current": entry_fields(kind, current) if current is not None else None,
    }, status=status)


# --------------------------------------------------------------------------- detail


_SKIP = {"id", "version", "created_by", "created_at", "updated_at", "student", "plan", "school",
         "source", "reviewed_by", "reviewed_at", "review_note", "review"}


def _value(entry, f) -> str:
    value = getattr(entry, f.attname)
    if value is None or value == "":
        return "—"
    if f.choices:
        return str(getattr(entry, f"get_{f.name}_display")())
    if f.is_relation:
        return str(getattr(entry, f.name))
    if isinstance(value, bool):
        return _("是") if value else _("否")
    if isinstance(value, dt.date):
        return f"{value:%Y-%m-%d}"
    if f.name == "id_number":
        return mask_id(value)
    if f.name.endswith("phone"):
        return mask_phone(value)
    if f.name == "term":
        try:
            return parse_term(value).label
        except ValueError:
            return value
    if f.name == "source" and isinstance(entry, StatusChange):
        return str(STATUS_CHANGE_SOURCES.get(value, value))
    if f.name == "content" and isinstance(entry, HomeTeachingVisit):
        return entry.content_labels
    return str(value)


def entry_fields(kind: LedgerKind, entry) -> list[tuple[str, str]]:
    skip = set(_SKIP)
    if kind.slug == "status_changes":
        skip -= {"source"}
        skip |= {"from_school"}
    return [(str(f.verbose_name), _value(entry, f)) for f in kind.model._meta.concrete_fields
            if f.name not in skip]


def _attachments(entry):
    ct = ContentType.objects.get_for_model(type(entry))
    return list(Attachment.objects.filter(content_type=ct, object_id=entry.pk).select_related("uploaded_by"))


def _render_detail(request, kind: LedgerKind, entry, *, review_form=None, status: int = 200):
    user = request.user
    ctx = {
        "kind": kind, "entry": entry, "fields": entry_fields(kind, entry),
        "student": (getattr(entry, kind.parent_field).student if kind.parent
                    else getattr(entry, "student", None)),
        "history": entry_history(entry) if hasattr(entry, "history") else None,
        "attachments": _attachments(entry),
        "can_edit": can_edit_entry(user, kind, entry),
        "can_attach": can_attach(user, kind, entry),
        "attach_form": AttachmentForm(), "accept": ACCEPT,
        "attach_help": str(HELP).format(mb=_max_mb()),
        "creator": entry.created_by,
    }
    if kind.slug == "deferrals":
        ctx["expiry"] = deferral_expiry(entry, today())
        if can_review_deferral(user, entry) and entry.review == Deferral.Review.PENDING:
            ctx["review_form"] = review_form or DeferralReviewForm(initial={"version": entry.version})
    if kind.slug == "home_teaching":
        visits = list(visits_of(entry))
        ctx["visits"] = visits
        ctx["months"] = _month_counts(visits)
        ctx["visit_kind"] = KINDS["home_teaching_visits"]
    if kind.slug == "learning_support":
        ctx["notes"] = list(entry.notes.select_related("created_by").order_by("note_date", "pk"))
    if kind.parent:
        ctx["parent"] = getattr(entry, kind.parent_field)
    return render(request, "ledgers/entry_detail.html", ctx, status=status)


def _max_mb() -> int:
    return settings.KONGCHUO_ATTACHMENT_MAX_BYTES // (1024 * 1024)


def _month_counts(visits: list[HomeTeachingVisit]) -> list[dict]:
    counts: dict[dt.date, int] = {}
    for v in visits:
        key = v.visit_date.replace(day=1)
        counts[key] = counts.get(key, 0) + 1
    this_month = today().replace(day=1)
    counts.setdefault(this_month, 0)
    return [{"month": m, "n": n, "short": n < MIN_VISITS_PER_MONTH}
            for m, n in sorted(counts.items(), reverse=True)]


@login_required
def entry_detail(request, slug: str, pk: int):
    require_role(request.user, *STAFF)
    kind = ledger_kind(request, slug)
    return _render_detail(request, kind, entry_for_user(kind, request, pk))


@login_required
@require_POST
def deferral_review_view(request, pk: int):
    require_role(request.user, Role.COUNTY, Role.TOWNSHIP)
    kind = KINDS["deferrals"]
    deferral = entry_for_user(kind, request, pk)
    if not can_review_deferral(request.user, deferral):
        raise PermissionDenied
    form = DeferralReviewForm(request.POST)
    if not form.is_valid():
        return _render_detail(request, kind, deferral, review_form=form, status=400)
    d = form.cleaned_data
    try:
        deferral_review(deferral=deferral, user=request.user, approve=d["decision"] == "approve",
                        note=d["review_note"], expected_version=d["version"])
    except StaleEdit:
        messages.error(request, _("该申请已被他人审核或修改，请查看最新内容"))
    except ValidationError as exc:
        form.add_error("review_note", exc)
        return _render_detail(request, kind, deferral, review_form=form, status=400)
    else:
        messages.success(request, _("审核结果已保存"))
    return redirect("ledgers:detail", "deferrals", deferral.pk)


@login_required
def home_teaching_manual(request, pk: int):
    """送教上门工作手册: the child's plan and every visit, laid out to print and sign."""
    require_role(request.user, *STAFF)
    plan = entry_for_user(KINDS["home_teaching"], request, pk)
    visits = list(visits_of(plan))
    return render(request, "ledgers/home_teaching_manual.html", {
        "plan": plan, "student": plan.student, "visits": visits, "months": _month_counts(visits),
        "minimum": MIN_VISITS_PER_MONTH, "printed": today(),
    })
