"""Worklist pages of the ledgers: 返校报到 (class by class, the term's not-yet-reported), the
未资助 list, and 转出县外 with its 接收证明. Parse, scope, call a service, render."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe
from django_tables2 import RequestConfig

from kongchuo.access.scoping import Role, require_role
from kongchuo.calendar.schoolyear import parse_term, today
from ledgers.forms import TransferOutOfCountyForm, term_choices
from ledgers.registry import KINDS
from ledgers.selectors import (
    can_edit_entry,
    class_roll,
    class_students,
    not_reported,
    poor_without_aid,
    transfers_without_proof,
)
from ledgers.services import (
    StaleEdit,
    return_report_withdraw,
    return_reports_mark,
    transfer_out_of_county_record,
)
from ledgers.views import (
    STAFF,
    STALE_MESSAGE,
    entry_for_user,
    is_school_user,
    student_initial,
    term_from_param,
)
from students.counts import CachedCountPaginator
from students.filters import StudentFilter
from students.models import StatusChange, Student
from students.tables import StudentTable

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
    term = term_from_param(request.POST.get("term") or request.GET.get("term"))
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
    table = StudentTable(rows, exclude=("school",) if is_school_user(request.user) else ())
    RequestConfig(request, paginate={"per_page": 50, "paginator_class": CachedCountPaginator,
                                     "count_queryset": rows}).configure(table)
    flt.form.fields.pop("status", None)
    return render(request, template, {**ctx, "filter": flt, "table": table, "terms": term_choices()})


@login_required
@require_POST
def returns_withdraw(request, pk: int):
    require_role(request.user, *STAFF)
    report = entry_for_user(KINDS["returns"], request, pk)
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
    term = term_from_param(request.GET.get("term"))
    qs = not_reported(Student.objects.visible_to(request.user).select_related("school"), term)
    return _student_table_page(request, qs, "ledgers/student_gap.html", {
        "kind": KINDS["returns"], "term": term,
        "title": _("%(term)s未报到学生") % {"term": term.label}, "hint": _("在读学生中本学期尚未登记返校报到、也没有请假记录的学生。"),
    })


@login_required
def aid_uncovered(request):
    require_role(request.user, *STAFF)
    term = term_from_param(request.GET.get("term"))
    qs = poor_without_aid(Student.objects.visible_to(request.user).select_related("school"), term)
    return _student_table_page(request, qs, "ledgers/student_gap.html", {
        "kind": KINDS["aid"], "term": term, "title": _("%(term)s困难学生未资助名单") % {"term": term.label},
        "hint": _("建档立卡/脱贫、防返贫监测、低保、特困供养家庭的在校学生中，本学期尚无资助记录的学生。"),
    })


# --------------------------------------------------------------------------- 转出县外


@login_required
@require_http_methods(["GET", "POST"])
def transfer_out_of_county(request):
    """转出县外 with its 接收证明 (issue 16): one save, the letter uploaded with it or later."""
    require_role(request.user, Role.SCHOOL)
    form = TransferOutOfCountyForm(request.POST or None, request.FILES or None, user=request.user,
                                   initial={**student_initial(KINDS["status_changes"], request),
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
    require_role(request.user, *STAFF)
    qs = (transfers_without_proof(StatusChange.objects.visible_to(request.user))
          .select_related("student", "from_school").order_by("-effective_date", "-pk"))
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    return render(request, "ledgers/transfers_missing_proof.html", {
        "page": page, "can_write": is_school_user(request.user)})
