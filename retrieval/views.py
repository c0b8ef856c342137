"""The pages that span the sub-domains: the personal to-do inbox (我的待办), one inbox
section's full list, and the approvals page (待审批: dismissals, 销号 requests, 延缓入学)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import render
from django.views.decorators.http import require_safe

from kongchuo.access.scoping import Role, require_role
from kongchuo.calendar.schoolyear import today
from retrieval.alerts.forms import ReviewForm
from retrieval.cases.forms import ClosureDecisionForm
from retrieval.inbox import BY_KEY, inbox_for, inbox_total, pending_for, pending_title
from retrieval.models import ClosureRequest, RetrievalCase
from retrieval.web import EVERYONE


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
