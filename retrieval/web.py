"""What the pages of every sub-domain share: who may open them, and the small tails of a POST
step (a message, then back to the page the form came from)."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect
from django.utils.html import format_html
from django.utils.translation import gettext as _

from kongchuo.access.scoping import Role
from retrieval.workflow import WorkflowError

STAFF = (Role.COUNTY, Role.TOWNSHIP, Role.SCHOOL)
EVERYONE = (*STAFF, Role.TOWNSHIP_GOV)


def fail(request, exc: Exception | str) -> None:
    messages.error(request, str(exc))


def back(request, name: str, **kwargs):
    """Approval forms post from the approvals page or from the object's page; go back there."""
    if request.POST.get("next") == "approvals":
        return redirect("retrieval:approvals")
    return redirect(name, **kwargs)


def through(queryset, pk: int, **parent_in):
    """A child row reached through its parent's scope (an escalation or a 销号 request through
    its case, a sample or a finding through its visit): 404 for missing and out of scope alike,
    as `access_object`."""
    try:
        return queryset.get(pk=pk, **parent_in)
    except (queryset.model.DoesNotExist, ValueError) as exc:
        raise Http404 from exc


def stale(request) -> None:
    messages.error(request, _("该记录已被他人修改，已显示最新内容，请核对后重新提交"))


def submit(request, form, *, call: Callable[[dict], object], back_to: tuple[str, int],
           invalid: str | Callable[[object], str], done: str | Callable[[dict], str]):
    """The shared tail of the small POST steps that answer with a message and go back to the
    page they came from: the yes/no verdicts a level up (review of a dismissal, 销号 approval,
    acceptance of a rectification), a sample's re-check result, a rectification order. The view
    has scoped the object and checked the user may act; `call(cleaned_data)` runs the service;
    `invalid` and `done` are the messages (or functions of the form / of the cleaned data)."""
    name, pk = back_to
    if not form.is_valid():
        fail(request, invalid(form) if callable(invalid) else invalid)
    else:
        try:
            call(form.cleaned_data)
        except WorkflowError as exc:
            fail(request, exc)
        else:
            messages.success(request, done(form.cleaned_data) if callable(done) else done)
    return back(request, name, pk=pk)


def badge(tone: str, text) -> str:
    """A status badge of a list table."""
    return format_html('<span class="badge text-bg-{}">{}</span>', tone, text)
