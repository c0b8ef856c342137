"""Pages of the feedback lists (反馈名单核查): the batches, one batch's rows, the answer to a
row, and the export in the issuer's layout."""

from __future__ import annotations

import io
from urllib.parse import quote

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count, Prefetch, Q
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from kongchuo.access.idnumbers import mask_id, mask_ids_in_value
from kongchuo.access.scoping import Role, access_object, require_role, scope_of
from kongchuo.calendar.schoolyear import today
from retrieval.feedback import services
from retrieval.feedback.forms import FeedbackAnswerForm
from retrieval.feedback.selectors import can_answer_feedback
from retrieval.models import Evidence, FeedbackBatch, FeedbackItem
from retrieval.web import STAFF, stale
from retrieval.workflow import WorkflowError
from students.services import StaleEdit

FEEDBACK_PER_PAGE = 100


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
        if not can_answer_feedback(request.user, item):
            raise PermissionDenied
        if form.is_valid():
            d = form.cleaned_data
            try:
                services.feedback_answer(item=item, user=request.user, version=d["version"],
                                         result=d["result"], explanation=d["explanation"],
                                         verified_on=d["verified_on"], files=d["files"])
            except StaleEdit:
                stale(request)
                return redirect("retrieval:feedback_item", pk=item.pk)
            except WorkflowError as exc:
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
