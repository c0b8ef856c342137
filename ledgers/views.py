"""Pages of the ledgers: parse, scope, call a service, render. No ORM writes here.

Every page is for county, township and school users (township_gov: 403). Objects are fetched
with `access_object` (404 for missing and out-of-scope alike); writes need the owning school
(403 otherwise), deferral reviews the level above the school.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe
from django_tables2 import RequestConfig

from kongchuo.access.idnumbers import mask_id, mask_phone
from kongchuo.access.scoping import Role, access_object, require_role, scope_of
from kongchuo.calendar.schoolyear import Term, current_term, parse_term, today
from kongchuo.models import Job
from kongchuo.portal.menu import menu_section
from ledgers.attachments import ACCEPT, HELP
from ledgers.exports import ExportScopeError, filename_for, scope_for_user
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
from ledgers.registry import KINDS, LEDGER_NAMES, LedgerKind, kind_for_model
from ledgers.selectors import (
    MIN_VISITS_PER_MONTH,
    RELATED,
    can_attach,
    can_edit_entry,
    can_review_deferral,
    can_write,
    class_roll,
    class_students,
    deferral_expiry,
    entries_for,
    entry_history,
    expiring_deferrals,
    not_reported,
    poor_without_aid,
    reviewable_deferrals,
    visits_of,
    with_month_visits,
    with_risk,
)
from ledgers.services import (
    EXPORT_JOB_KIND,
    StaleEdit,
    attachment_add,
    attachment_delete,
    deferral_review,
    ledger_entry_create,
    ledger_entry_update,
    ledger_export,
    ledger_export_job_start,
    return_report_withdraw,
    return_reports_mark,
    status_change_record,
)
from ledgers.tables import TABLES
from students.counts import CachedCountPaginator, cached_count
from students.filters import StudentFilter
from students.models import STATUS_CHANGE_SOURCES, School, StatusChange, Student
from students.tables import StudentTable

STAFF = (Role.COUNTY, Role.TOWNSHIP, Role.SCHOOL)
STALE_MESSAGE = "该记录在您打开后已被他人修改并保存，您的修改没有保存。请查看下方当前内容，刷新后重新填写。 / Someone else saved this record after you opened it; your changes were not saved."


def _term_from(value: str | None) -> Term:
    allowed = {code for code, _label in term_choices(back=8)}
    if value and value in allowed:
        return parse_term(value)
    return current_term()


def _is_school(user) -> bool:
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
                        "month": f"{month:%Y年%m月}", "n": MIN_VISITS_PER_MONTH}, "value": n,
                    "tone": "danger" if n else "success",
                    "url": reverse("ledgers:home_teaching") + f"?month={month:%Y-%m}&below=1"})
    elif kind.slug == "status_changes":
        from ledgers.selectors import transfers_without_proof
        from students.models import StatusChange, TransferRequest

        n = cached_count(transfers_without_proof(StatusChange.objects.visible_to(user)))
        out.append({"label": _("转出县外缺接收证明"), "value": n, "tone": "danger" if n else "success",
                    "url": reverse("ledgers:transfers_missing_proof")})
        n = TransferRequest.objects.visible_to(user).filter(state=TransferRequest.State.PENDING).count()
        out.append({"label": _("县内转学待确认"), "value": n, "tone": "warning" if n else "secondary",
                    "url": reverse("students:transfers")})
        if _is_school(user):
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
    from kongchuo.imports.base import get_kind

    kind = get_kind(slug)
    if kind is None or not kind.allowed(scope_of(user)):
        return None
    return reverse("imports:kind", args=[slug])


@login_required
def entry_list(request, slug: str):
    require_role(request.user, *STAFF)
    kind = _kind(request, slug)
    base = _annotated(kind, entries_for(kind, request.user), request).order_by(
        f"-{kind.date_field}", "-pk")
    flt = filter_for(kind)(request.GET or None, queryset=base, user=request.user)
    qs = flt.qs if flt.is_bound and flt.is_valid() else base
    exclude = ("school",) if _is_school(request.user) else ()
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


def _kind(request, slug: str) -> LedgerKind:
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


def _student_initial(kind: LedgerKind, request) -> dict:
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
    kind = _kind(request, slug)
    if slug == "returns":
        return redirect("ledgers:returns_tick")
    if slug == "status_changes":
        return _status_change_new(request, kind)
    parent = _parent(kind, request)
    form = FORMS[slug](request.POST or None, user=request.user,
                       initial=_student_initial(kind, request), **_form_kwargs(kind, parent))
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
    initial = _student_initial(kind, request)
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


def _get_entry(kind: LedgerKind, request, pk: int):
    return access_object(kind.model.objects.select_related(*RELATED[kind.slug]), request.user, pk=pk)


@login_required
@require_http_methods(["GET", "POST"])
def entry_edit(request, slug: str, pk: int):
    require_role(request.user, *STAFF)
    kind = _kind(request, slug)
    entry = _get_entry(kind, request, pk)
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
                current = _get_entry(kind, request, pk)
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
        return "是" if value else "否"
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
    from django.conf import settings

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
    kind = _kind(request, slug)
    return _render_detail(request, kind, _get_entry(kind, request, pk))


@login_required
@require_POST
def deferral_review_view(request, pk: int):
    require_role(request.user, Role.COUNTY, Role.TOWNSHIP)
    kind = KINDS["deferrals"]
    deferral = _get_entry(kind, request, pk)
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
        messages.error(request, _("该申请已被他人审核或修改，请查看最新内容 / already reviewed or changed"))
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
    plan = _get_entry(KINDS["home_teaching"], request, pk)
    visits = list(visits_of(plan))
    return render(request, "ledgers/home_teaching_manual.html", {
        "plan": plan, "student": plan.student, "visits": visits, "months": _month_counts(visits),
        "minimum": MIN_VISITS_PER_MONTH, "printed": today(),
    })


# --------------------------------------------------------------------------- 返校报到


class ReturnTickForm(forms.Form):
    term = forms.ChoiceField(choices=term_choices)
    reported_on = forms.DateField()
    student = forms.ModelMultipleChoiceField(queryset=Student.objects.none(), required=False)

    def __init__(self, *args, school_id: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["student"].queryset = Student.objects.filter(school_id=school_id)

    def clean_reported_on(self):
        day = self.cleaned_data["reported_on"]
        if day > today():
            raise forms.ValidationError(_("报到日期不能晚于今天"))
        return day


@login_required
@require_http_methods(["GET", "POST"])
def returns_tick(request):
    """Class by class, the class teacher ticks who reported back (nobody pre-ticked)."""
    scope = require_role(request.user, Role.SCHOOL)
    school_id = scope.school_id
    term = _term_from(request.POST.get("term") or request.GET.get("term"))
    classes = list(class_roll(school_id, term))
    key = request.POST.get("class") or request.GET.get("class") or ""
    current = next((c for c in classes if f"{c['grade']}|{c['class_name']}" == key),
                   classes[0] if classes else None)
    if request.method == "POST":
        form = ReturnTickForm(request.POST, school_id=school_id)
        if form.is_valid():
            ids = [s.pk for s in form.cleaned_data["student"]]
            n = return_reports_mark(user=request.user, term=parse_term(form.cleaned_data["term"]),
                                    student_ids=ids, reported_on=form.cleaned_data["reported_on"])
            if ids:
                messages.success(request, _("已登记 %(n)s 人报到") % {"n": n})
            else:
                messages.warning(request, _("没有勾选学生"))
            url = reverse("ledgers:returns_tick") + f"?term={term.code}"
            if current:
                url += f"&class={current['grade']}|{current['class_name']}"
            return redirect(url)
        messages.error(request, "；".join(e for errs in form.errors.values() for e in errs))
    students = (list(class_students(school_id, current["grade"], current["class_name"], term))
                if current else [])
    return render(request, "ledgers/returns_tick.html", {
        "kind": KINDS["returns"], "term": term, "terms": term_choices(), "classes": classes,
        "current": current, "students": students, "today": today(),
        "pending": sum(1 for s in students if not s.done),
    })


def _student_table_page(request, qs, template: str, ctx: dict):
    flt = StudentFilter(request.GET or None, queryset=qs, user=request.user)
    rows = flt.qs if flt.is_bound and flt.is_valid() else qs
    table = StudentTable(rows, exclude=("school",) if _is_school(request.user) else ())
    RequestConfig(request, paginate={"per_page": 50, "paginator_class": CachedCountPaginator,
                                     "count_queryset": rows}).configure(table)
    flt.form.fields.pop("status", None)
    return render(request, template, {**ctx, "filter": flt, "table": table, "terms": term_choices()})


@login_required
@require_POST
def returns_withdraw(request, pk: int):
    require_role(request.user, *STAFF)
    report = _get_entry(KINDS["returns"], request, pk)
    if not can_edit_entry(request.user, KINDS["returns"], report):
        raise PermissionDenied
    try:
        return_report_withdraw(report=report, user=request.user,
                               expected_version=_int_or_none(request.POST.get("version")))
    except StaleEdit:
        messages.error(request, STALE_MESSAGE)
        return redirect("ledgers:detail", "returns", pk)
    messages.success(request, _("已撤销该生的报到登记"))
    return redirect(reverse("ledgers:returns_tick") + f"?term={report.term}"
                    f"&class={report.student.grade}|{report.student.class_name}")


def _int_or_none(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


@login_required
def returns_missing(request):
    """The term's not-yet-reported children, one click from the returns page."""
    require_role(request.user, *STAFF)
    term = _term_from(request.GET.get("term"))
    qs = not_reported(Student.objects.visible_to(request.user).select_related("school"), term)
    return _student_table_page(request, qs, "ledgers/student_gap.html", {
        "kind": KINDS["returns"], "term": term,
        "title": _("%(term)s未报到学生") % {"term": term.label}, "hint": _("在读学生中本学期尚未登记返校报到、也没有请假记录的学生。"),
    })


@login_required
def aid_uncovered(request):
    require_role(request.user, *STAFF)
    term = _term_from(request.GET.get("term"))
    qs = poor_without_aid(Student.objects.visible_to(request.user).select_related("school"), term)
    return _student_table_page(request, qs, "ledgers/student_gap.html", {
        "kind": KINDS["aid"], "term": term, "title": _("%(term)s困难学生未资助名单") % {"term": term.label},
        "hint": _("建档立卡/脱贫、防返贫监测、低保、特困供养家庭的在校学生中，本学期尚无资助记录的学生。"),
    })


# --------------------------------------------------------------------------- exports


def _xlsx_response(write, filename: str) -> FileResponse:
    fd, path = tempfile.mkstemp(suffix=".xlsx")
    os.close(fd)
    try:
        write(path)
        fh = open(path, "rb")  # noqa: SIM115 - FileResponse closes it
    finally:
        os.unlink(path)  # the open handle keeps the data until the response is sent
    return FileResponse(fh, as_attachment=True, filename=filename,
                        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


def _export_scope(request, params=None):
    params = request.GET if params is None else params
    school = None
    if params.get("school"):
        school = access_object(School.objects.select_related("township"), request.user,
                               pk=params["school"])
    try:
        return scope_for_user(request.user, school=school)
    except ExportScopeError as exc:
        raise PermissionDenied from exc


@login_required
@require_POST
def entry_export(request, slug: str):
    """A ledger export: the list's POST form (CSRF-checked), audited; never a GET, so a link or
    a prefetch cannot export children's data."""
    require_role(request.user, *STAFF)
    if slug not in LEDGER_NAMES:
        raise Http404
    params = request.POST
    form = ExportForm(params)
    if not form.is_valid():
        messages.error(request, "；".join(e for errs in form.errors.values() for e in errs))
        return redirect("ledgers:" + slug)
    full = form.cleaned_data["full"]
    if full and scope_of(request.user).role != Role.COUNTY:
        raise PermissionDenied
    scope = _export_scope(request, params)
    term = parse_term(form.cleaned_data["term"])
    if scope.level == "county":
        # A county ledger can run to 200,000 rows (about a minute): the worker writes it.
        job = ledger_export_job_start(user=request.user, name=slug, scope=scope, term=term,
                                      full=full, reason=form.cleaned_data["reason"])
        return redirect("ledgers:export_job", job.pk)
    return _xlsx_response(
        lambda path: ledger_export(name=slug, out=path, scope=scope, term=term, user=request.user,
                                   request=request, full=full, reason=form.cleaned_data["reason"]),
        filename_for(slug, scope, term, today()))


@login_required
def entry_template(request, slug: str):
    require_role(request.user, *STAFF)
    if slug not in LEDGER_NAMES:
        raise Http404
    scope = _export_scope(request)
    return _xlsx_response(
        lambda path: ledger_export(name=slug, out=path, scope=scope, term=None, user=request.user),
        filename_for(slug, scope, None, today()))


def _own_export_job(request, pk: int) -> Job:
    # Export files hold personal data: only the user who asked sees the job and its file.
    return get_object_or_404(Job, pk=pk, kind=EXPORT_JOB_KIND, created_by=request.user)


@login_required
def export_job(request, pk: int):
    require_role(request.user, *STAFF)
    job = _own_export_job(request, pk)
    name = job.params.get("ledger", "")
    menu_section(request, f"ledgers:{name}" if name in LEDGER_NAMES else "home")
    return render(request, "ledgers/export_job.html", {
        "job": job, "kind": KINDS.get(name), "done": job.status == Job.Status.SUCCEEDED,
        "waiting": job.status in (Job.Status.PENDING, Job.Status.RUNNING),
    })


@login_required
def export_job_file(request, pk: int):
    require_role(request.user, *STAFF)
    job = _own_export_job(request, pk)
    if job.status != Job.Status.SUCCEEDED or not job.output:
        raise Http404
    return FileResponse(job.output.open("rb"), as_attachment=True,
                        filename=job.result.get("filename", "ledger.xlsx"),
                        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


# --------------------------------------------------------------------------- attachments


@login_required
@require_POST
def attachment_upload(request, slug: str, pk: int):
    require_role(request.user, *STAFF)
    kind = _kind(request, slug)
    entry = _get_entry(kind, request, pk)
    if not can_attach(request.user, kind, entry):
        raise PermissionDenied
    form = AttachmentForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, _("请选择要上传的文件"))
    else:
        try:
            attachment_add(entry=entry, user=request.user, upload=form.cleaned_data["file"])
        except ValidationError as exc:
            messages.error(request, exc.messages[0])
        else:
            messages.success(request, _("证明材料已上传"))
    return redirect("ledgers:detail", slug, pk)


def _attachment_entry(request, pk: int):
    att = get_object_or_404(Attachment.objects.select_related("content_type"), pk=pk)
    kind = kind_for_model(att.content_type.model_class())
    if kind is None:
        raise Http404
    entry = _get_entry(kind, request, att.object_id)  # 404 unless the user sees the entry
    return att, kind, entry


@login_required
def attachment_download(request, pk: int):
    require_role(request.user, *STAFF)
    att, _kind, _entry = _attachment_entry(request, pk)
    try:
        fh = att.file.open("rb")
    except FileNotFoundError as exc:
        raise Http404 from exc
    response = FileResponse(fh, content_type=att.mime, as_attachment=not att.is_image,
                            filename=att.original_name)
    response["Content-Security-Policy"] = "default-src 'none'; img-src 'self'; sandbox"
    return response


@login_required
@require_POST
def attachment_remove(request, pk: int):
    require_role(request.user, *STAFF)
    att, kind, entry = _attachment_entry(request, pk)
    if not can_attach(request.user, kind, entry):
        raise PermissionDenied
    attachment_delete(attachment=att, user=request.user)
    messages.success(request, _("已删除"))
    return redirect("ledgers:detail", kind.slug, entry.pk)



# --------------------------------------------------------------------------- 转出县外


@login_required
@require_http_methods(["GET", "POST"])
def transfer_out_of_county(request):
    """转出县外 with its 接收证明 (issue 16): one save, the letter uploaded with it or later."""
    from ledgers.forms import TransferOutOfCountyForm
    from ledgers.services import transfer_out_of_county_record

    require_role(request.user, Role.SCHOOL)
    form = TransferOutOfCountyForm(request.POST or None, request.FILES or None, user=request.user,
                                   initial={**_student_initial(KINDS["status_changes"], request),
                                            "effective_date": today()})
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            change = transfer_out_of_county_record(
                user=request.user, student=d["student"], effective_date=d["effective_date"],
                to_county=d["to_county"], to_school_name=d["to_school_name"], reason=d["reason"],
                approved_by=d["approved_by"], proof=d["proof"])
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            if d["proof"] is None:
                messages.warning(request, _("已登记转出县外；尚缺接收证明，请在本页补传，补传前该生列入缺接收证明名单"))
            else:
                messages.success(request, _("已登记转出县外，接收证明已上传"))
            return redirect("ledgers:detail", "status_changes", change.pk)
    return render(request, "ledgers/transfer_out_of_county.html", {"form": form},
                  status=400 if form.errors else 200)


@login_required
@require_safe
def transfers_missing_proof(request):
    """转出县外缺接收证明: the children recorded 转出 out of the county with no letter attached."""
    from ledgers.selectors import transfers_without_proof
    from students.models import StatusChange

    require_role(request.user, *STAFF)
    qs = (transfers_without_proof(StatusChange.objects.visible_to(request.user))
          .select_related("student", "from_school").order_by("-effective_date", "-pk"))
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    return render(request, "ledgers/transfers_missing_proof.html", {
        "page": page, "can_write": _is_school(request.user)})
