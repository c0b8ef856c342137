"""File pages of the ledgers: official-layout exports (big ones as background jobs) and the
proof attachments of entries. Every download is scoped like the entry it belongs to."""

from __future__ import annotations

import os
import tempfile

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from kongchuo.access.scoping import Role, access_object, require_role, scope_of
from kongchuo.calendar.schoolyear import parse_term, today
from kongchuo.models import Job
from kongchuo.portal.menu import menu_section
from ledgers.exports import ExportScopeError, filename_for, scope_for_user
from ledgers.forms import AttachmentForm, ExportForm
from ledgers.models import Attachment
from ledgers.registry import KINDS, LEDGER_NAMES, kind_for_model
from ledgers.selectors import can_attach
from ledgers.services import (
    EXPORT_JOB_KIND,
    attachment_add,
    attachment_delete,
    ledger_export,
    ledger_export_job_start,
)
from ledgers.views import STAFF, entry_for_user, ledger_kind
from students.models import School

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
    kind = ledger_kind(request, slug)
    entry = entry_for_user(kind, request, pk)
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
    entry = entry_for_user(kind, request, att.object_id)  # 404 unless the user sees the entry
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
