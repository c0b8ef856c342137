"""Pages of the 劝返 case: the list, a case with its timeline and every step's form, the
steps themselves, and the printable 限期复学通知书. Views parse, scope (404 out of scope, 403
for a role that may not act), call a service, and redirect."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe
from django_tables2 import RequestConfig

from kongchuo.access.scoping import Role, access_object, require_role, scope_of
from kongchuo.calendar.schoolyear import today
from retrieval.cases import services
from retrieval.cases.filters import CaseFilter
from retrieval.cases.forms import (
    AttemptForm,
    CaseForm,
    ClosureDecisionForm,
    ClosureRequestForm,
    EscalateForm,
    EscalationAnswerForm,
    EvidenceForm,
    PlacementForm,
)
from retrieval.cases.selectors import (
    can_answer_escalation,
    can_decide_closure,
    can_escalate,
    can_request_closure,
    can_work_case,
    case_counts,
    case_next_step,
    case_timeline,
    closure_approvers_hint,
)
from retrieval.cases.tables import CaseTable
from retrieval.models import Alert, ClosureRequest, Escalation, RetrievalCase
from retrieval.web import EVERYONE, STAFF, stale, submit, through
from retrieval.workflow import WorkflowError
from students.services import StaleEdit


def _case_or_404(request, pk: int) -> RetrievalCase:
    return access_object(
        RetrievalCase.objects.select_related("school", "township", "student", "opened_by",
                                             "placement_school", "closed_by"),
        request.user, pk=pk)


@login_required
@require_safe
def case_list(request):
    require_role(request.user, *EVERYONE)
    base = RetrievalCase.objects.visible_to(request.user).select_related("school")
    flt = CaseFilter(request.GET or None, queryset=base, user=request.user)
    qs = flt.qs if flt.is_bound and flt.is_valid() else base
    table = CaseTable(qs)
    RequestConfig(request, paginate={"per_page": 20}).configure(table)
    return render(request, "retrieval/case_list.html", {
        "filter": flt, "table": table, "counts": case_counts(request.user)})


def _case_context(request, case: RetrievalCase, **forms) -> dict:
    user = request.user
    work = can_work_case(user, case)
    escalations = list(case.escalations.select_related("township", "escalated_by", "answered_by")
                       .prefetch_related("evidence"))
    pending_esc = next((e for e in escalations if e.status == Escalation.Status.PENDING), None)
    closures = list(case.closures.select_related("requested_by", "decided_by")
                    .prefetch_related("evidence"))
    pending_closure = next((c for c in closures if c.status == ClosureRequest.Status.PENDING), None)
    v = {"version": case.version}
    can_attempt = work and case.status in (RetrievalCase.Status.OPEN, RetrievalCase.Status.ESCALATED)
    may_escalate = can_escalate(user, case) and not pending_esc
    can_close = can_request_closure(user, case)
    has_failed = case.attempts.filter(outcome="failed").exists()
    return {
        "case": case,
        "timeline": case_timeline(case, user),
        "attempts": case.attempts.select_related("recorded_by"),
        "escalations": escalations,
        "closures": closures,
        "evidence": case.evidence.filter(closure__isnull=True, escalation__isnull=True)
                    .select_related("uploaded_by"),
        "alerts": Alert.objects.visible_to(user).filter(cases=case),
        "has_failed_attempt": has_failed,
        "can_work": work,
        "attempt_form": forms.get("attempt_form") or (AttemptForm() if can_attempt else None),
        "placement_form": forms.get("placement_form") or (
            PlacementForm(initial=v) if can_attempt and not case.placement else None),
        "escalate_form": forms.get("escalate_form") or (EscalateForm(initial=v) if may_escalate else None),
        "answer_form": forms.get("answer_form") or (
            EscalationAnswerForm() if pending_esc and can_answer_escalation(user, pending_esc)
            else None),
        "pending_escalation": pending_esc,
        "closure_form": forms.get("closure_form") or (
            ClosureRequestForm(initial=v) if can_close else None),
        "pending_closure": pending_closure,
        "closure_approvers": closure_approvers_hint(pending_closure) if pending_closure else "",
        "next_step": case_next_step(case, has_failed_attempt=has_failed,
                                        pending_escalation=pending_esc,
                                        pending_closure=pending_closure),
        "decide_form": forms.get("decide_form") or (
            ClosureDecisionForm() if pending_closure and can_decide_closure(user, pending_closure)
            else None),
        "evidence_form": EvidenceForm() if work else None,
        "is_gov": scope_of(user).role == Role.TOWNSHIP_GOV,
    }


@login_required
@require_safe
def case_detail(request, pk: int):
    require_role(request.user, *EVERYONE)
    case = _case_or_404(request, pk)
    return render(request, "retrieval/case_detail.html", _case_context(request, case))


@login_required
@require_http_methods(["GET", "POST"])
def case_edit(request, pk: int):
    require_role(request.user, *STAFF)
    case = _case_or_404(request, pk)
    if not can_work_case(request.user, case):
        raise PermissionDenied
    initial = {f: getattr(case, f) for f in services.CASE_EDITABLE} | {"version": case.version}
    form = CaseForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        version = data.pop("version")
        try:
            services.case_update(case=case, user=request.user, version=version, **data)
        except StaleEdit:
            stale(request)
            case.refresh_from_db()
            form = CaseForm(initial={f: getattr(case, f) for f in services.CASE_EDITABLE}
                            | {"version": case.version})
            return render(request, "retrieval/case_edit.html", {"case": case, "form": form},
                          status=409)
        messages.success(request, _("案件信息已保存"))
        return redirect("retrieval:case", pk=case.pk)
    return render(request, "retrieval/case_edit.html", {"case": case, "form": form})


def _case_step(request, pk: int, form_class, form_key: str, call, success: str, *,
               roles=STAFF, files=False):
    """POST handler shared by the case's action forms: scope, validate, call, redirect."""
    require_role(request.user, *roles)
    case = _case_or_404(request, pk)
    form = form_class(request.POST, request.FILES) if files else form_class(request.POST)
    if not form.is_valid():
        ctx = _case_context(request, case, **{form_key: form})
        return render(request, "retrieval/case_detail.html", ctx, status=400)
    try:
        call(case, form.cleaned_data)
    except StaleEdit:
        stale(request)
        return redirect("retrieval:case", pk=case.pk)
    except WorkflowError as exc:
        form.add_error(None, str(exc))
        ctx = _case_context(request, case, **{form_key: form})
        return render(request, "retrieval/case_detail.html", ctx, status=400)
    messages.success(request, success)
    return redirect("retrieval:case", pk=case.pk)


@login_required
@require_POST
def case_attempt(request, pk: int):
    def call(case, d):
        if not can_work_case(request.user, case):
            raise PermissionDenied
        services.case_add_attempt(case=case, user=request.user, **d)
    return _case_step(request, pk, AttemptForm, "attempt_form", call, _("劝返记录已保存"))


@login_required
@require_POST
def case_place(request, pk: int):
    def call(case, d):
        if not can_work_case(request.user, case):
            raise PermissionDenied
        services.case_place(case=case, user=request.user, **d)
    return _case_step(request, pk, PlacementForm, "placement_form", call,
                      _("安置已登记，学籍状态已更新"))


@login_required
@require_POST
def case_escalate(request, pk: int):
    def call(case, d):
        if not can_escalate(request.user, case):
            raise PermissionDenied
        services.case_escalate(case=case, user=request.user, **d)
    return _case_step(request, pk, EscalateForm, "escalate_form", call, _("已上报属地政府"),
                      roles=STAFF)


@login_required
@require_POST
def escalation_answer(request, pk: int):
    require_role(request.user, Role.TOWNSHIP_GOV)
    escalation = through(Escalation.objects.select_related("case"), pk,
                          case__in=RetrievalCase.objects.visible_to(request.user))
    if not can_answer_escalation(request.user, escalation):
        raise PermissionDenied

    def call(case, d):
        services.escalation_answer(escalation=escalation, user=request.user, **d)
    return _case_step(request, escalation.case_id, EscalationAnswerForm, "answer_form", call,
                      _("处置情况已登记"), roles=(Role.TOWNSHIP_GOV,), files=True)


@login_required
@require_POST
def case_closure(request, pk: int):
    def call(case, d):
        if not can_request_closure(request.user, case):
            raise PermissionDenied
        services.case_request_closure(case=case, user=request.user, **d)
    return _case_step(request, pk, ClosureRequestForm, "closure_form", call,
                      _("销号申请已提交，等待上级审批"), files=True)


@login_required
@require_POST
def closure_decide(request, pk: int):
    require_role(request.user, Role.COUNTY, Role.TOWNSHIP)
    closure = through(ClosureRequest.objects.select_related("case"), pk,
                       case__in=RetrievalCase.objects.visible_to(request.user))
    if not can_decide_closure(request.user, closure):
        raise PermissionDenied
    return submit(
        request, ClosureDecisionForm(request.POST), back_to=("retrieval:case", closure.case_id),
        call=lambda d: services.closure_decide(closure=closure, user=request.user,
                                               approve=d["verdict"] == "approve", note=d["note"]),
        invalid=_("请选择审批结论"),
        done=lambda d: _("已销号") if d["verdict"] == "approve" else _("已退回"))


@login_required
@require_POST
def case_evidence(request, pk: int):
    def call(case, d):
        if not can_work_case(request.user, case):
            raise PermissionDenied
        services.case_add_evidence(case=case, user=request.user, files=d["files"])
    return _case_step(request, pk, EvidenceForm, "evidence_form", call, _("证明材料已上传"),
                      files=True)


@login_required
@require_safe
def case_notice(request, pk: int):
    """责令限期复学通知书, printable (print CSS), generated from the case and its escalation."""
    require_role(request.user, *EVERYONE)
    case = _case_or_404(request, pk)
    escalation = case.escalations.select_related("township").order_by("-escalated_at").first()
    if escalation is None:
        raise PermissionDenied
    return render(request, "retrieval/case_notice.html", {
        "case": case, "escalation": escalation, "student": case.student,
        "return_by": escalation.return_by or escalation.deadline, "today": today()})
