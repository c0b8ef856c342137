"""转学 pages: the list both sides see, one transfer with its actions, the 转出 form.

Both schools of a transfer (and whoever oversees them) see it (TransferRequest.objects
.visible_to); the side that did not ask confirms or refuses, the side that asked may withdraw
(students.transfers). Every action carries the version the page showed (a decision already
taken by someone else is refused, not repeated).
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from kongchuo.access.scoping import Role, access_object, covers_school, require_role
from kongchuo.calendar.schoolyear import today
from students.forms import TransferDecisionForm, TransferOutForm
from students.models import Student, TransferRequest
from students.selectors import transfers_for
from students.services import StaleEdit
from students.transfers import (
    answering_school,
    asking_school,
    may_answer,
    may_withdraw,
    transfer_confirm,
    transfer_refuse,
    transfer_request_create,
    transfer_withdraw,
)

STAFF = (Role.COUNTY, Role.TOWNSHIP, Role.SCHOOL)
STATES = {"pending": TransferRequest.State.PENDING, "done": TransferRequest.State.CONFIRMED}


@login_required
@require_safe
def transfer_list(request):
    require_role(request.user, *STAFF)
    tab = request.GET.get("state", "pending")
    qs = transfers_for(request.user, state=STATES.get(tab)) if tab in STATES else transfers_for(request.user)
    page = Paginator(qs, 20).get_page(request.GET.get("page"))
    rows = [_row(request.user, t) for t in page.object_list]
    pending = transfers_for(request.user, state=TransferRequest.State.PENDING)
    return render(request, "students/transfer_list.html", {
        "page": page, "rows": rows, "tab": tab,
        "waiting_me": sum(1 for t in pending if may_answer(request.user, t)),
        "pending": pending.count()})


def _row(user, t: TransferRequest) -> dict:
    return {"t": t, "incoming": covers_school(user, t.to_school) and not covers_school(user, t.from_school),
            "may_answer": may_answer(user, t), "may_withdraw": may_withdraw(user, t)}


def _transfer(request, pk: int) -> TransferRequest:
    return access_object(TransferRequest.objects.select_related(
        "student", "from_school__township", "to_school__township", "requested_by", "decided_by"),
        request.user, pk=pk)


@login_required
@require_safe
def transfer_detail(request, pk: int):
    require_role(request.user, *STAFF)
    return _render_detail(request, _transfer(request, pk))


def _render_detail(request, t: TransferRequest, *, form=None, status: int = 200):
    return render(request, "students/transfer_detail.html", {
        "t": t, "asking": asking_school(t), "answering": answering_school(t),
        "may_answer": may_answer(request.user, t), "may_withdraw": may_withdraw(request.user, t),
        "form": form or TransferDecisionForm(initial={"version": t.version}),
        "student_visible": Student.objects.visible_to(request.user).filter(pk=t.student_id).exists(),
    }, status=status)


def _decide(request, pk: int, action, done: str):
    require_role(request.user, *STAFF)
    transfer = _transfer(request, pk)
    form = TransferDecisionForm(request.POST)
    if not form.is_valid():
        return _render_detail(request, transfer, form=form, status=400)
    d = form.cleaned_data
    try:
        action(user=request.user, transfer=transfer, expected_version=d["version"], note=d["note"])
    except StaleEdit:
        messages.error(request, _("该转学已被他人处理或修改，请查看最新状态"))
    except ValidationError as exc:
        form.add_error("note", exc)
        return _render_detail(request, transfer, form=form, status=400)
    else:
        messages.success(request, done)
    return redirect("students:transfer", transfer.pk)


@login_required
@require_POST
def transfer_confirm_view(request, pk: int):
    return _decide(request, pk, transfer_confirm, _("已确认：学生已转入接收学校"))


@login_required
@require_POST
def transfer_refuse_view(request, pk: int):
    return _decide(request, pk, transfer_refuse, _("已拒绝：学生仍在原学校，恢复申请前的学籍状态"))


@login_required
@require_POST
def transfer_withdraw_view(request, pk: int):
    return _decide(request, pk, transfer_withdraw, _("已撤回转学申请"))


@login_required
@require_http_methods(["GET", "POST"])
def transfer_out(request, pk: int):
    """转出登记 (sending side): a 转出 to a school of the county, received by the other side."""
    require_role(request.user, *STAFF)
    student = access_object(Student.objects.select_related("school"), request.user, pk=pk)
    if not covers_school(request.user, student.school):
        raise PermissionDenied
    form = TransferOutForm(request.POST or None, student=student,
                           initial={"requested_on": today(), "grade": str(student.grade)})
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            transfer = transfer_request_create(
                user=request.user, student=student, to_school=d["to_school"],
                direction=TransferRequest.Direction.OUT, grade=int(d["grade"]), reason=d["reason"],
                requested_on=d["requested_on"])
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("已登记转出，待%(school)s确认接收；10个教学日内未接收将列为疑似辍学。")
                             % {"school": transfer.to_school.name})
            return redirect("students:transfer", transfer.pk)
    return render(request, "students/transfer_out.html", {"student": student, "form": form},
                  status=400 if form.errors else 200)
