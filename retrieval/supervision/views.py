"""Pages of 督查 (county users) and of the 整改通知 (the schools and townships report on theirs)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from kongchuo.access.scoping import Role, access_object, require_role, scope_of
from kongchuo.calendar.schoolyear import today
from retrieval.models import RectificationOrder, SupervisionFinding, SupervisionSample, SupervisionVisit
from retrieval.supervision import services
from retrieval.supervision.forms import (
    FindingForm,
    RectificationCloseForm,
    RectificationForm,
    RectificationReportForm,
    SampleCheckForm,
    SampleForm,
    VisitCompleteForm,
    VisitForm,
)
from retrieval.supervision.selectors import can_report_rectification, teacher_conduct_counts
from retrieval.web import STAFF, stale, submit, through
from retrieval.workflow import WorkflowError
from students.services import StaleEdit


@login_required
@require_http_methods(["GET", "POST"])
def supervision_list(request):
    require_role(request.user, Role.COUNTY)
    form = VisitForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            visit = services.visit_plan(user=request.user, **form.cleaned_data)
        except WorkflowError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("督查计划已建立"))
            return redirect("retrieval:visit", pk=visit.pk)
    visits = (SupervisionVisit.objects.visible_to(request.user)
              .select_related("township", "school", "planned_by")
              .annotate(n_samples=Count("samples", distinct=True),
                        n_findings=Count("findings", distinct=True)))
    findings = SupervisionFinding.objects.aggregate(
        total=Count("pk"), teacher=Count("pk", filter=Q(kind=SupervisionFinding.Kind.TEACHER_CONDUCT)))
    orders = RectificationOrder.objects.aggregate(
        open=Count("pk", filter=~Q(status=RectificationOrder.Status.CLOSED)),
        overdue=Count("pk", filter=~Q(status=RectificationOrder.Status.CLOSED) & Q(deadline__lt=today())),
        closed=Count("pk", filter=Q(status=RectificationOrder.Status.CLOSED)))
    return render(request, "retrieval/supervision_list.html", {
        "visits": visits, "form": form, "findings": findings, "orders": orders,
        "teacher_by_township": teacher_conduct_counts()}, status=400 if form.errors else 200)


def _visit_context(request, visit, **forms) -> dict:
    samples = visit.samples.select_related("case", "case__school", "alert", "alert__school")
    findings = visit.findings.select_related("school", "sample").prefetch_related("orders")
    return {
        "visit": visit, "samples": samples, "findings": findings,
        "sample_form": forms.get("sample_form") or SampleForm(),
        "check_form": SampleCheckForm(),
        "finding_form": forms.get("finding_form") or FindingForm(visit=visit),
        "order_form": forms.get("order_form") or RectificationForm(),
        "complete_form": forms.get("complete_form") or VisitCompleteForm(
            initial={"summary": visit.summary}),
    }


@login_required
@require_safe
def visit_detail(request, pk: int):
    require_role(request.user, Role.COUNTY)
    visit = access_object(SupervisionVisit.objects.select_related("township", "school"),
                          request.user, pk=pk)
    return render(request, "retrieval/visit_detail.html", _visit_context(request, visit))


def _visit_step(request, pk, form_factory, form_key, call, success):
    require_role(request.user, Role.COUNTY)
    visit = access_object(SupervisionVisit.objects.select_related("township", "school"),
                          request.user, pk=pk)
    form = form_factory(visit)
    if form.is_valid():
        try:
            call(visit, form.cleaned_data)
        except WorkflowError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, success)
            return redirect("retrieval:visit", pk=visit.pk)
    return render(request, "retrieval/visit_detail.html",
                  _visit_context(request, visit, **{form_key: form}), status=400)


@login_required
@require_POST
def visit_sample(request, pk: int):
    return _visit_step(
        request, pk, lambda v: SampleForm(request.POST), "sample_form",
        lambda v, d: services.visit_draw_sample(visit=v, user=request.user, **d), _("已抽取复查对象"))


@login_required
@require_POST
def visit_finding(request, pk: int):
    return _visit_step(
        request, pk, lambda v: FindingForm(request.POST, visit=v), "finding_form",
        lambda v, d: services.finding_record(visit=v, user=request.user, **d), _("问题已记录"))


@login_required
@require_POST
def visit_complete(request, pk: int):
    return _visit_step(
        request, pk, lambda v: VisitCompleteForm(request.POST), "complete_form",
        lambda v, d: services.visit_complete(visit=v, user=request.user, **d), _("督查已完成"))


@login_required
@require_POST
def sample_check(request, pk: int):
    require_role(request.user, Role.COUNTY)
    sample = through(SupervisionSample.objects, pk,
                      visit__in=SupervisionVisit.objects.visible_to(request.user))
    return submit(
        request, SampleCheckForm(request.POST), back_to=("retrieval:visit", sample.visit_id),
        call=lambda d: services.sample_check(sample=sample, user=request.user, **d),
        invalid=_("请选择复查结果"), done=_("复查结果已保存"))


@login_required
@require_POST
def finding_order(request, pk: int):
    require_role(request.user, Role.COUNTY)
    finding = through(SupervisionFinding.objects, pk,
                       visit__in=SupervisionVisit.objects.visible_to(request.user))
    return submit(
        request, RectificationForm(request.POST), back_to=("retrieval:visit", finding.visit_id),
        call=lambda d: services.rectification_issue(finding=finding, user=request.user, **d),
        invalid=lambda form: "; ".join(e for errs in form.errors.values() for e in errs),
        done=_("整改通知已下发"))


@login_required
@require_safe
def rectification_list(request):
    require_role(request.user, *STAFF)
    orders = (RectificationOrder.objects.visible_to(request.user)
              .select_related("finding", "school", "township").order_by("status", "deadline", "pk"))
    return render(request, "retrieval/rectification_list.html", {"orders": orders, "today": today()})


@login_required
@require_http_methods(["GET", "POST"])
def rectification_detail(request, pk: int):
    require_role(request.user, *STAFF)
    order = access_object(RectificationOrder.objects.select_related("finding", "finding__visit",
                                                                     "school"), request.user, pk=pk)
    can_report = can_report_rectification(request.user, order)
    form = RectificationReportForm(request.POST or None, request.FILES or None,
                                   initial={"version": order.version, "report": order.report})
    status = 200
    if request.method == "POST":
        if not can_report:
            raise PermissionDenied
        if form.is_valid():
            try:
                services.rectification_report(order=order, user=request.user, **form.cleaned_data)
            except StaleEdit:
                stale(request)
                return redirect("retrieval:rectification", pk=order.pk)
            except WorkflowError as exc:
                form.add_error(None, str(exc))
                status = 400
            else:
                messages.success(request, _("整改情况已反馈"))
                return redirect("retrieval:rectification", pk=order.pk)
        else:
            status = 400
    is_county = scope_of(request.user).role == Role.COUNTY
    return render(request, "retrieval/rectification_detail.html", {
        "order": order, "form": form if can_report else None,
        "close_form": RectificationCloseForm() if is_county and order.status == "reported" else None,
        "evidence": order.evidence.select_related("uploaded_by"),
        "history": order.history.select_related("history_user").order_by("history_date")},
        status=status)


@login_required
@require_POST
def rectification_close(request, pk: int):
    require_role(request.user, Role.COUNTY)
    order = access_object(RectificationOrder.objects, request.user, pk=pk)
    return submit(
        request, RectificationCloseForm(request.POST), back_to=("retrieval:rectification", order.pk),
        call=lambda d: services.rectification_close(order=order, user=request.user,
                                                    accept=d["verdict"] == "accept", note=d["note"]),
        invalid=_("请选择验收结论"), done=_("验收结论已保存"))
