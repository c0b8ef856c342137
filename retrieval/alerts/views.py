"""Pages of the alerts (疑似辍学预警): the list, an alert with its decisions, confirm /
dismiss / review, rule quality, and the 帮扶对象未入学 worklist. Views parse, scope (404 out
of scope, 403 for a role that may not act), call a service, and redirect."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe
from django_tables2 import RequestConfig

from kongchuo.access.idnumbers import birth_date_of, mask_id
from kongchuo.access.params import query_int
from kongchuo.access.scoping import Role, access_object, require_role
from kongchuo.calendar.schoolyear import today
from retrieval.alerts import services
from retrieval.alerts.filters import AlertFilter
from retrieval.alerts.forms import ConfirmForm, DismissForm, ReviewForm
from retrieval.alerts.selectors import (
    alert_also_reasons,
    alert_next_step,
    alert_opens_case,
    can_decide_alert,
    can_review_decision,
    feedback_item_id,
    overturned_counts,
    rule_totals,
)
from retrieval.alerts.selectors import rule_quality as rule_quality_rows
from retrieval.alerts.tables import AlertTable
from retrieval.models import Alert, AlertDecision
from retrieval.sweeps.census import support_unaccounted
from retrieval.web import STAFF, fail, submit
from retrieval.wording import alert_evidence, alert_label, looks_like_id
from retrieval.workflow import WorkflowError
from students.models import SupportMark, Township


@login_required
@require_safe
def alert_list(request):
    require_role(request.user, *STAFF)
    base = Alert.objects.visible_to(request.user).select_related("school")
    flt = AlertFilter(request.GET or None, queryset=base, user=request.user)
    qs = flt.qs if flt.is_bound and flt.is_valid() else base
    table = AlertTable(qs)
    RequestConfig(request, paginate={"per_page": 20}).configure(table)
    return render(request, "retrieval/alert_list.html", {"filter": flt, "table": table})


def _alert_context(request, alert, **forms) -> dict:
    decisions = (alert.decisions.select_related("decided_by", "reviewed_by", "case")
                 .prefetch_related("evidence"))
    can_decide = can_decide_alert(request.user, alert)
    pending = next((d for d in decisions if d.review_status == AlertDecision.Review.PENDING), None)
    return {
        "alert": alert, "decisions": decisions, "can_decide": can_decide,
        "opens_case": alert_opens_case(alert),
        "confirm_form": forms.get("confirm_form") or (ConfirmForm() if can_decide else None),
        "dismiss_form": forms.get("dismiss_form") or (DismissForm() if can_decide else None),
        "pending": pending,
        "review_form": forms.get("review_form") or (
            ReviewForm() if pending and can_review_decision(request.user, pending) else None),
        "cases": alert.cases.all(),
        "feedback_item_id": feedback_item_id(alert),
        "also_reasons": alert_also_reasons(alert),
        "next_step": alert_next_step(alert, pending),
        "subject_masked": _mask(alert.subject),
        "subject_name": alert.name or (alert.student.name if alert.student else alert_label(alert)),
        "evidence": alert_evidence(alert),
    }


def _mask(value: str) -> str:
    """Mask anything shaped like an ID number (alert subjects and details may hold one)."""
    if looks_like_id(value):
        return mask_id(value)
    return value


@login_required
@require_safe
def alert_detail(request, pk: int):
    require_role(request.user, *STAFF)
    alert = access_object(Alert.objects.select_related("school", "township", "student"),
                          request.user, pk=pk)
    return render(request, "retrieval/alert_detail.html", _alert_context(request, alert))


def _alert_decision(request, pk: int, form_class, form_key: str, decide):
    """POST handler of the two decisions on an alert (confirm, dismiss): scope (404), check the
    user may decide (403), validate (400, the page again with the form's errors), then
    `decide(alert, cleaned_data)` calls the service and answers; a step the workflow refuses
    comes back on the form."""
    require_role(request.user, *STAFF)
    alert = access_object(Alert.objects.select_related("school"), request.user, pk=pk)
    if not can_decide_alert(request.user, alert):
        raise PermissionDenied
    form = form_class(request.POST, request.FILES)
    if form.is_valid():
        try:
            return decide(alert, form.cleaned_data)
        except WorkflowError as exc:
            form.add_error(None, str(exc))
    return render(request, "retrieval/alert_detail.html",
                  _alert_context(request, alert, **{form_key: form}), status=400)


@login_required
@require_POST
def alert_confirm(request, pk: int):
    def decide(alert, d):
        try:
            decision = services.alert_confirm(alert=alert, user=request.user, **d)
        except WorkflowError as exc:  # decided a moment ago by someone else
            fail(request, exc)
            return redirect("retrieval:alert", pk=alert.pk)
        if decision.case_id:
            messages.success(request, _("已确认疑似辍学，已建立劝返案件"))
            return redirect("retrieval:case", pk=decision.case_id)
        messages.success(request, _("已确认"))
        return redirect("retrieval:alert", pk=alert.pk)
    return _alert_decision(request, pk, ConfirmForm, "confirm_form", decide)


@login_required
@require_POST
def alert_dismiss(request, pk: int):
    def decide(alert, d):
        services.alert_dismiss(alert=alert, user=request.user, **d)
        messages.success(request, _("已排除，等待上级复核"))
        return redirect("retrieval:alert", pk=alert.pk)
    return _alert_decision(request, pk, DismissForm, "dismiss_form", decide)


@login_required
@require_POST
def decision_review(request, pk: int):
    require_role(request.user, Role.COUNTY, Role.TOWNSHIP)
    decision = access_object(AlertDecision.objects.select_related("alert"), request.user, pk=pk)
    if not can_review_decision(request.user, decision):
        raise PermissionDenied
    return submit(
        request, ReviewForm(request.POST), back_to=("retrieval:alert", decision.alert_id),
        call=lambda d: services.decision_review(decision=decision, user=request.user,
                                                uphold=d["verdict"] == "uphold", note=d["note"]),
        invalid=_("请选择复核结论"), done=_("复核已提交"))


@login_required
@require_safe
def rule_quality(request):
    require_role(request.user, Role.COUNTY)
    rows = rule_quality_rows()
    totals = rule_totals(rows)
    overturned = overturned_counts()
    for t in totals:
        t["overturned"] = overturned.get(t["rule"], 0)
    return render(request, "retrieval/rule_quality.html", {"rows": rows, "totals": totals})


@login_required
@require_safe
def support_unenrolled(request):
    scope = require_role(request.user, Role.COUNTY, Role.TOWNSHIP)
    day = today()
    township = None
    township_id = query_int(request.GET, "township")
    if scope.is_county and township_id:
        township = Township.objects.filter(pk=township_id).first()
    qs = support_unaccounted(day, marks=SupportMark.objects.visible_to(request.user),
                             township_id=township.pk if township else None)
    qs = qs.select_related("township").order_by("route", "name", "pk")
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    ids = [m.id_number for m in page.object_list]
    lists: dict[str, list[str]] = {}
    for id_number, kind in (SupportMark.objects.filter(id_number__in=ids).order_by("kind")
                            .values_list("id_number", "kind")):
        lists.setdefault(id_number, []).append(str(SupportMark.Kind(kind).label))
    alerted = set(Alert.objects.visible_to(request.user)
                  .filter(rule=Alert.Rule.SUPPORT_UNENROLLED, subject__in=ids)
                  .values_list("subject", flat=True))
    towns = {t.pk: t.name for t in Township.objects.all()}
    rows = [{"mark": m, "masked": mask_id(m.id_number), "lists": "、".join(lists.get(m.id_number, [])), "born": birth_date_of(m.id_number),
             "township": towns.get(m.route, ""), "alerted": m.id_number in alerted}
            for m in page.object_list]
    return render(request, "retrieval/support_unenrolled.html", {
        "page": page, "rows": rows, "township": township,
        "townships": Township.objects.all() if scope.is_county else None, "today": day})
