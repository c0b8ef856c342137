"""Pages of the 劝返 workflow: alert inbox, cases, approvals, feedback answers, rule quality,
督查, and the personal to-do inbox. Views parse, scope (404 out of scope, 403 for a role that
may not act), call a service, and redirect; sweep pages live in retrieval/sweep_views.py.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from urllib.parse import quote

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count, Prefetch, Q
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe
from django_tables2 import RequestConfig

from kongchuo.access.idnumbers import mask_id, mask_ids_in_value
from kongchuo.access.scoping import Role, access_object, require_role, scope_of
from kongchuo.calendar.schoolyear import today
from retrieval import selectors as sel
from retrieval import services
from retrieval.cases import (
    AlertDecision,
    ClosureRequest,
    Escalation,
    Evidence,
    RectificationOrder,
    RetrievalCase,
    SupervisionFinding,
    SupervisionSample,
    SupervisionVisit,
)
from retrieval.filters import AlertFilter, CaseFilter
from retrieval.forms import (
    AttemptForm,
    CaseForm,
    ClosureDecisionForm,
    ClosureRequestForm,
    ConfirmForm,
    DismissForm,
    EscalateForm,
    EscalationAnswerForm,
    EvidenceForm,
    FeedbackAnswerForm,
    FindingForm,
    PlacementForm,
    RectificationCloseForm,
    RectificationForm,
    RectificationReportForm,
    ReviewForm,
    SampleCheckForm,
    SampleForm,
    VisitCompleteForm,
    VisitForm,
)
from retrieval.inbox import BY_KEY, closure_approvers_hint, inbox_for, inbox_total, pending_for, pending_title
from retrieval.models import Alert, FeedbackBatch, FeedbackItem
from retrieval.tables import AlertTable, CaseTable
from retrieval.wording import alert_evidence
from students.services import StaleEdit

STAFF = (Role.COUNTY, Role.TOWNSHIP, Role.SCHOOL)
FEEDBACK_PER_PAGE = 100
EVERYONE = (*STAFF, Role.TOWNSHIP_GOV)


def _fail(request, exc: Exception) -> None:
    messages.error(request, str(exc))


def _back(request, name: str, **kwargs):
    """Approval forms post from the approvals page or from the object's page; go back there."""
    if request.POST.get("next") == "approvals":
        return redirect("retrieval:approvals")
    return redirect(name, **kwargs)


def _through(queryset, pk: int, **parent_in):
    """A child row reached through its parent's scope (an escalation or a 销号 request through
    its case, a sample or a finding through its visit): 404 for missing and out of scope alike,
    as `access_object`."""
    try:
        return queryset.get(pk=pk, **parent_in)
    except (queryset.model.DoesNotExist, ValueError) as exc:
        raise Http404 from exc


def _stale(request) -> None:
    messages.error(request, _("该记录已被他人修改，已显示最新内容，请核对后重新提交 / "
                              "someone else saved this record: reload and try again"))


# --------------------------------------------------------------------------- inbox


@login_required
@require_safe
def inbox(request):
    require_role(request.user, *EVERYONE)
    sections = inbox_for(request.user, today())
    return render(request, "retrieval/inbox.html", {
        "sections": sections, "total": inbox_total(sections)})


@login_required
@require_safe
def inbox_list(request, key: str):
    """Every row of one inbox section, paginated: the list its number links to."""
    require_role(request.user, *EVERYONE)
    pending = next((p for p in pending_for(request.user) if p.key == key), None)
    if pending is None or pending.approval:
        raise Http404
    page = Paginator(pending.rows(request.user, today()), 50).get_page(request.GET.get("page"))
    rows = [{"label": pending.label(o), "url": pending.url(o),
             "due": pending.due(o) if pending.due else None} for o in page]
    return render(request, "retrieval/inbox_list.html", {
        "title": pending_title(pending, request.user), "page": page, "rows": rows,
        "reminder": pending.reminder})


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
    can_decide = sel.can_decide_alert(request.user, alert)
    pending = next((d for d in decisions if d.review_status == AlertDecision.Review.PENDING), None)
    return {
        "alert": alert, "decisions": decisions, "can_decide": can_decide,
        "opens_case": sel.alert_opens_case(alert),
        "confirm_form": forms.get("confirm_form") or (ConfirmForm() if can_decide else None),
        "dismiss_form": forms.get("dismiss_form") or (DismissForm() if can_decide else None),
        "pending": pending,
        "review_form": forms.get("review_form") or (
            ReviewForm() if pending and sel.can_review_decision(request.user, pending) else None),
        "cases": alert.cases.all(),
        "feedback_item_id": sel.feedback_item_id(alert),
        "also_reasons": sel.alert_also_reasons(alert),
        "next_step": sel.alert_next_step(alert, pending),
        "subject_masked": _mask(alert.subject),
        "subject_name": alert.name or (alert.student.name if alert.student else sel.alert_label(alert)),
        "evidence": alert_evidence(alert),
    }


def _mask(value: str) -> str:
    """Mask anything shaped like an ID number (alert subjects and details may hold one)."""
    if len(value) == 18 and value[:17].isdigit():
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
    if not sel.can_decide_alert(request.user, alert):
        raise PermissionDenied
    form = form_class(request.POST, request.FILES)
    if form.is_valid():
        try:
            return decide(alert, form.cleaned_data)
        except services.WorkflowError as exc:
            form.add_error(None, str(exc))
    return render(request, "retrieval/alert_detail.html",
                  _alert_context(request, alert, **{form_key: form}), status=400)


@login_required
@require_POST
def alert_confirm(request, pk: int):
    def decide(alert, d):
        try:
            decision = services.alert_confirm(alert=alert, user=request.user, **d)
        except services.WorkflowError as exc:  # decided a moment ago by someone else
            _fail(request, exc)
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


def _submit(request, form, *, call: Callable[[dict], object], back: tuple[str, int],
            invalid: str | Callable[[object], str], done: str | Callable[[dict], str]):
    """The shared tail of the small POST steps that answer with a message and go back to the
    page they came from: the yes/no verdicts a level up (review of a dismissal, 销号 approval,
    acceptance of a rectification), a sample's re-check result, a rectification order. The view
    has scoped the object and checked the user may act; `call(cleaned_data)` runs the service;
    `invalid` and `done` are the messages (or functions of the form / of the cleaned data)."""
    name, pk = back
    if not form.is_valid():
        _fail(request, invalid(form) if callable(invalid) else invalid)
    else:
        try:
            call(form.cleaned_data)
        except services.WorkflowError as exc:
            _fail(request, exc)
        else:
            messages.success(request, done(form.cleaned_data) if callable(done) else done)
    return _back(request, name, pk=pk)


@login_required
@require_POST
def decision_review(request, pk: int):
    require_role(request.user, Role.COUNTY, Role.TOWNSHIP)
    decision = access_object(AlertDecision.objects.select_related("alert"), request.user, pk=pk)
    if not sel.can_review_decision(request.user, decision):
        raise PermissionDenied
    return _submit(
        request, ReviewForm(request.POST), back=("retrieval:alert", decision.alert_id),
        call=lambda d: services.decision_review(decision=decision, user=request.user,
                                                uphold=d["verdict"] == "uphold", note=d["note"]),
        invalid=_("请选择复核结论"), done=_("复核已提交"))


@login_required
@require_safe
def approvals(request):
    require_role(request.user, Role.COUNTY, Role.TOWNSHIP)
    user, as_of = request.user, today()
    decisions, closures, deferrals = (BY_KEY[k].rows(user, as_of)
                                      for k in ("reviews", "closures", "deferrals"))
    decisions = decisions.prefetch_related("evidence")
    closures = closures.prefetch_related("evidence")
    # The user's own requests wait for someone else: shown apart, without the buttons.
    mine = (ClosureRequest.objects.filter(case__in=RetrievalCase.objects.visible_to(user),
                                          status=ClosureRequest.Status.PENDING,
                                          requested_by=user)
            .select_related("case").order_by("requested_at"))
    return render(request, "retrieval/approvals.html", {
        "decisions": decisions, "closures": closures, "deferrals": deferrals, "mine": mine,
        "review_form": ReviewForm(), "closure_form": ClosureDecisionForm()})


# --------------------------------------------------------------------------- cases


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
        "filter": flt, "table": table, "counts": sel.case_counts(request.user)})


def _case_or_404(request, pk: int) -> RetrievalCase:
    return access_object(
        RetrievalCase.objects.select_related("school", "township", "student", "opened_by",
                                             "placement_school", "closed_by"),
        request.user, pk=pk)


def _case_context(request, case: RetrievalCase, **forms) -> dict:
    user = request.user
    work = sel.can_work_case(user, case)
    escalations = list(case.escalations.select_related("township", "escalated_by", "answered_by")
                       .prefetch_related("evidence"))
    pending_esc = next((e for e in escalations if e.status == Escalation.Status.PENDING), None)
    closures = list(case.closures.select_related("requested_by", "decided_by")
                    .prefetch_related("evidence"))
    pending_closure = next((c for c in closures if c.status == ClosureRequest.Status.PENDING), None)
    v = {"version": case.version}
    can_attempt = work and case.status in (RetrievalCase.Status.OPEN, RetrievalCase.Status.ESCALATED)
    can_escalate = sel.can_escalate(user, case) and not pending_esc
    can_close = sel.can_request_closure(user, case)
    has_failed = case.attempts.filter(outcome="failed").exists()
    return {
        "case": case,
        "timeline": sel.case_timeline(case, user),
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
        "escalate_form": forms.get("escalate_form") or (EscalateForm(initial=v) if can_escalate else None),
        "answer_form": forms.get("answer_form") or (
            EscalationAnswerForm() if pending_esc and sel.can_answer_escalation(user, pending_esc)
            else None),
        "pending_escalation": pending_esc,
        "closure_form": forms.get("closure_form") or (
            ClosureRequestForm(initial=v) if can_close else None),
        "pending_closure": pending_closure,
        "closure_approvers": closure_approvers_hint(pending_closure) if pending_closure else "",
        "next_step": sel.case_next_step(case, has_failed_attempt=has_failed,
                                        pending_escalation=pending_esc,
                                        pending_closure=pending_closure),
        "decide_form": forms.get("decide_form") or (
            ClosureDecisionForm() if pending_closure and sel.can_decide_closure(user, pending_closure)
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
    if not sel.can_work_case(request.user, case):
        raise PermissionDenied
    initial = {f: getattr(case, f) for f in services.CASE_EDITABLE} | {"version": case.version}
    form = CaseForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        version = data.pop("version")
        try:
            services.case_update(case=case, user=request.user, version=version, **data)
        except StaleEdit:
            _stale(request)
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
        _stale(request)
        return redirect("retrieval:case", pk=case.pk)
    except services.WorkflowError as exc:
        form.add_error(None, str(exc))
        ctx = _case_context(request, case, **{form_key: form})
        return render(request, "retrieval/case_detail.html", ctx, status=400)
    messages.success(request, success)
    return redirect("retrieval:case", pk=case.pk)


@login_required
@require_POST
def case_attempt(request, pk: int):
    def call(case, d):
        if not sel.can_work_case(request.user, case):
            raise PermissionDenied
        services.case_add_attempt(case=case, user=request.user, **d)
    return _case_step(request, pk, AttemptForm, "attempt_form", call, _("劝返记录已保存"))


@login_required
@require_POST
def case_place(request, pk: int):
    def call(case, d):
        if not sel.can_work_case(request.user, case):
            raise PermissionDenied
        services.case_place(case=case, user=request.user, **d)
    return _case_step(request, pk, PlacementForm, "placement_form", call,
                      _("安置已登记，学籍状态已更新"))


@login_required
@require_POST
def case_escalate(request, pk: int):
    def call(case, d):
        if not sel.can_escalate(request.user, case):
            raise PermissionDenied
        services.case_escalate(case=case, user=request.user, **d)
    return _case_step(request, pk, EscalateForm, "escalate_form", call, _("已上报属地政府"),
                      roles=STAFF)


@login_required
@require_POST
def escalation_answer(request, pk: int):
    require_role(request.user, Role.TOWNSHIP_GOV)
    escalation = _through(Escalation.objects.select_related("case"), pk,
                          case__in=RetrievalCase.objects.visible_to(request.user))
    if not sel.can_answer_escalation(request.user, escalation):
        raise PermissionDenied

    def call(case, d):
        services.escalation_answer(escalation=escalation, user=request.user, **d)
    return _case_step(request, escalation.case_id, EscalationAnswerForm, "answer_form", call,
                      _("处置情况已登记"), roles=(Role.TOWNSHIP_GOV,), files=True)


@login_required
@require_POST
def case_closure(request, pk: int):
    def call(case, d):
        if not sel.can_request_closure(request.user, case):
            raise PermissionDenied
        services.case_request_closure(case=case, user=request.user, **d)
    return _case_step(request, pk, ClosureRequestForm, "closure_form", call,
                      _("销号申请已提交，等待上级审批"), files=True)


@login_required
@require_POST
def closure_decide(request, pk: int):
    require_role(request.user, Role.COUNTY, Role.TOWNSHIP)
    closure = _through(ClosureRequest.objects.select_related("case"), pk,
                       case__in=RetrievalCase.objects.visible_to(request.user))
    if not sel.can_decide_closure(request.user, closure):
        raise PermissionDenied
    return _submit(
        request, ClosureDecisionForm(request.POST), back=("retrieval:case", closure.case_id),
        call=lambda d: services.closure_decide(closure=closure, user=request.user,
                                               approve=d["verdict"] == "approve", note=d["note"]),
        invalid=_("请选择审批结论"),
        done=lambda d: _("已销号") if d["verdict"] == "approve" else _("已退回"))


@login_required
@require_POST
def case_evidence(request, pk: int):
    def call(case, d):
        if not sel.can_work_case(request.user, case):
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


@login_required
@require_safe
def evidence_file(request, pk: int):
    """Serve one evidence file to whoever may see what it proves (files are never served
    from MEDIA_URL). Images inline, PDFs as downloads, sandboxed either way."""
    require_role(request.user, *EVERYONE)
    ev = access_object(Evidence.objects, request.user, pk=pk)
    response = FileResponse(ev.file.open("rb"), content_type=ev.mime,
                            as_attachment=not ev.is_image, filename=ev.original_name)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "sandbox; default-src 'none'"
    response["Cache-Control"] = "private, no-store"
    return response


# --------------------------------------------------------------------------- feedback


@login_required
@require_safe
def feedback_list(request):
    require_role(request.user, *STAFF)
    items = FeedbackItem.objects.visible_to(request.user)
    batches = (FeedbackBatch.objects.visible_to(request.user)
               .annotate(n=Count("items", filter=Q(items__in=items)),
                         answered=Count("items", filter=Q(items__in=items) & ~Q(items__result="")))
               .order_by("-received_on", "-pk"))
    return render(request, "retrieval/feedback_list.html", {"batches": batches, "today": today()})


@login_required
@require_safe
def feedback_batch(request, pk: int):
    require_role(request.user, *STAFF)
    batch = access_object(FeedbackBatch.objects, request.user, pk=pk)
    items = (FeedbackItem.objects.visible_to(request.user).filter(batch=batch)
             .select_related("school", "verified_by"))
    state = request.GET.get("state", "")
    if state == "todo":
        items = items.filter(result="")
    elif state == "done":
        items = items.exclude(result="")
    page = Paginator(items.order_by("row"), FEEDBACK_PER_PAGE).get_page(request.GET.get("page"))
    for i in page:
        i.id_masked = mask_id(i.id_number)
    return render(request, "retrieval/feedback_batch.html", {
        "batch": batch, "items": page, "page": page, "state": state, "n": page.paginator.count,
        "can_full_ids": scope_of(request.user).role == Role.COUNTY})


@login_required
@require_http_methods(["GET", "POST"])
def feedback_item(request, pk: int):
    require_role(request.user, *STAFF)
    item = access_object(FeedbackItem.objects.select_related("batch", "school", "verified_by"),
                         request.user, pk=pk)
    initial = {"result": item.result, "explanation": item.explanation,
               "verified_on": item.verified_on or today(), "version": item.version}
    form = FeedbackAnswerForm(request.POST or None, request.FILES or None, initial=initial)
    status = 200
    if request.method == "POST":
        if not sel.can_answer_feedback(request.user, item):
            raise PermissionDenied
        if form.is_valid():
            d = form.cleaned_data
            try:
                services.feedback_answer(item=item, user=request.user, version=d["version"],
                                         result=d["result"], explanation=d["explanation"],
                                         verified_on=d["verified_on"], files=d["files"])
            except StaleEdit:
                _stale(request)
                return redirect("retrieval:feedback_item", pk=item.pk)
            except services.WorkflowError as exc:
                form.add_error(None, str(exc))
                status = 400
            else:
                messages.success(request, _("核查结果已保存"))
                return redirect(f"{reverse('retrieval:feedback_batch', args=[item.batch_id])}?state=todo")
        else:
            status = 400
    return render(request, "retrieval/feedback_item.html", {
        "item": item, "form": form, "evidence": item.evidence.select_related("uploaded_by"),
        "original": _masked_original(item),
    }, status=status)


def _masked_original(item: FeedbackItem) -> list[tuple[str, object]]:
    """The row as issued, in the issuer's column order, every ID-shaped value masked (the
    child's, a guardian's, one inside a note), whatever quirks the issuer typed it with."""
    labels = item.batch.columns or list(item.original)
    return [(label, mask_ids_in_value(item.original.get(label, ""))) for label in labels]


@login_required
@require_POST
def feedback_export(request, pk: int):
    """The batch in its original layout with the answers: a POST (CSRF-checked), audited;
    ids=full (county only) for the version reported upwards."""
    require_role(request.user, *STAFF)
    batch = access_object(FeedbackBatch.objects, request.user, pk=pk)
    full_ids = request.POST.get("ids") == "full"
    if full_ids and scope_of(request.user).role != Role.COUNTY:
        raise PermissionDenied
    items = (FeedbackItem.objects.visible_to(request.user).filter(batch=batch)
             .select_related("verified_by")
             .prefetch_related(Prefetch("evidence", queryset=Evidence.objects.only(
                 "id", "original_name", "feedback_item_id"))))
    buf = io.BytesIO()
    services.feedback_export(batch=batch, user=request.user, out=buf, items=items, full_ids=full_ids)
    stamp = timezone.localtime().strftime("%Y%m%d")
    response = HttpResponse(buf.getvalue(), content_type=(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))
    response["Content-Disposition"] = (
        f"attachment; filename=\"feedback-{batch.pk}-{stamp}.xlsx\"; "
        f"filename*=UTF-8''{quote(f'{batch.title}-核查结果-{stamp}.xlsx')}")
    return response


# --------------------------------------------------------------------------- rule quality


@login_required
@require_safe
def rule_quality(request):
    require_role(request.user, Role.COUNTY)
    rows = sel.rule_quality()
    totals = sel.rule_totals(rows)
    overturned = sel.overturned_counts()
    for t in totals:
        t["overturned"] = overturned.get(t["rule"], 0)
    return render(request, "retrieval/rule_quality.html", {"rows": rows, "totals": totals})


# --------------------------------------------------------------------------- 督查


@login_required
@require_http_methods(["GET", "POST"])
def supervision_list(request):
    require_role(request.user, Role.COUNTY)
    form = VisitForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            visit = services.visit_plan(user=request.user, **form.cleaned_data)
        except services.WorkflowError as exc:
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
        "teacher_by_township": sel.teacher_conduct_counts()}, status=400 if form.errors else 200)


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
        except services.WorkflowError as exc:
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
    sample = _through(SupervisionSample.objects, pk,
                      visit__in=SupervisionVisit.objects.visible_to(request.user))
    return _submit(
        request, SampleCheckForm(request.POST), back=("retrieval:visit", sample.visit_id),
        call=lambda d: services.sample_check(sample=sample, user=request.user, **d),
        invalid=_("请选择复查结果"), done=_("复查结果已保存"))


@login_required
@require_POST
def finding_order(request, pk: int):
    require_role(request.user, Role.COUNTY)
    finding = _through(SupervisionFinding.objects, pk,
                       visit__in=SupervisionVisit.objects.visible_to(request.user))
    return _submit(
        request, RectificationForm(request.POST), back=("retrieval:visit", finding.visit_id),
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
    can_report = sel.can_report_rectification(request.user, order)
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
                _stale(request)
                return redirect("retrieval:rectification", pk=order.pk)
            except services.WorkflowError as exc:
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
    return _submit(
        request, RectificationCloseForm(request.POST), back=("retrieval:rectification", order.pk),
        call=lambda d: services.rectification_close(order=order, user=request.user,
                                                    accept=d["verdict"] == "accept", note=d["note"]),
        invalid=_("请选择验收结论"), done=_("验收结论已保存"))
