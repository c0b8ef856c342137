"""The browser flow of the imports: 导入 page per kind → 下载模板 → upload → preview (counts,
first errors, error workbook) → 确认导入 / 跳过错误行导入; big files run in the worker with a
progress bar (htmx polls the job); the import history.
"""

from __future__ import annotations

import io
import logging
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.middleware import HtmxDetails

from kongchuo.access.audit import audit_record
from kongchuo.access.scoping import Role, require_role
from kongchuo.calendar.schoolyear import period_label
from kongchuo.imports.base import ImportKind, ImportRefused, current_lang, get_kind, kinds_for
from kongchuo.imports.forms import UploadForm
from kongchuo.imports.pipeline import JOB_PREFIX, issues_from_job, job_kind
from kongchuo.imports.runner import import_job_create, import_job_run, import_job_start, import_output_take
from kongchuo.imports.selectors import import_jobs_visible_to
from kongchuo.imports.workbooks import error_workbook_file, template_write
from kongchuo.models import Job

log = logging.getLogger(__name__)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
STAFF = (Role.COUNTY, Role.TOWNSHIP, Role.SCHOOL)
SHOWN = 50


class _Request(HttpRequest):
    htmx: HtmxDetails  # set by django-htmx's middleware


def _kind_for(request: HttpRequest, slug: str) -> ImportKind:
    scope = require_role(request.user, *STAFF)
    kind = get_kind(slug)
    if kind is None:
        raise Http404
    if not kind.allowed(scope):
        raise PermissionDenied
    return kind


def _job_for(request: HttpRequest, pk: int) -> Job:
    require_role(request.user, *STAFF)
    job = import_jobs_visible_to(request.user).filter(pk=pk).first()
    if job is None:
        raise Http404
    return job


@login_required
@require_GET
def import_index(request: HttpRequest) -> HttpResponse:
    scope = require_role(request.user, *STAFF)
    recent = import_jobs_visible_to(request.user)[:10]
    return render(request, "imports/index.html", {
        "kinds": kinds_for(scope), "recent": [_job_row(j) for j in recent]})


@login_required
@require_http_methods(["GET", "POST"])
def import_kind(request: HttpRequest, slug: str) -> HttpResponseBase:
    kind = _kind_for(request, slug)
    form = UploadForm(kind, request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            job = import_job_create(kind=kind.slug, user=request.user, source=upload,
                                    filename=upload.name, options=form.options())
        except ImportRefused as exc:
            form.add_error(None, exc.message(current_lang()))
        else:
            _run(request, job, write=False)
            return redirect("imports:job", pk=job.pk)
    recent = import_jobs_visible_to(request.user).filter(kind=JOB_PREFIX + kind.slug)[:10]
    return render(request, "imports/kind.html", {
        "kind": kind, "form": form, "recent": [_job_row(j) for j in recent],
        "fields": [f for f in kind.fields if f.template]})


def _run(request: HttpRequest, job: Job, *, write: bool, skip_invalid: bool = False) -> None:
    """Small files now, within the request; big ones in the worker (the page polls): a
    school's roster is ~100 KB, a county's 10–25 MB."""
    if job.file.size > getattr(settings, "KONGCHUO_IMPORT_SYNC_BYTES", 1024 * 1024):
        import_job_start(job, write=write, skip_invalid=skip_invalid)
        return
    try:
        import_job_run(job, write=write, skip_invalid=skip_invalid, request=request)
    except ImportRefused as exc:
        messages.error(request, exc.message(current_lang()))
    except Exception:  # the job says "failed, nothing written"; the user gets the page, not a 500
        log.exception("import job %s failed", job.pk)
        messages.error(request, _("导入失败，数据未改动。请稍后重试或联系管理员。"))


@login_required
@require_GET
def import_template(request: HttpRequest, slug: str) -> FileResponse:
    kind = _kind_for(request, slug)
    out = io.BytesIO()
    template_write(kind, out)
    out.seek(0)
    return FileResponse(out, as_attachment=True, filename=f"{kind.label}_导入模板.xlsx", content_type=XLSX)


@login_required
@require_GET
def import_job(request: _Request, pk: int) -> HttpResponse:
    """The job page, or (htmx, while it runs) its status part."""
    job = _job_for(request, pk)
    template = "imports/_job_status.html" if request.htmx else "imports/job.html"
    return render(request, template, _job_context(request, job))


@login_required
@require_POST
def import_confirm(request: HttpRequest, pk: int) -> HttpResponseBase:
    job = _job_for(request, pk)
    if job.created_by_id != request.user.pk:
        raise PermissionDenied
    if _confirmable(job):
        _run(request, job, write=True, skip_invalid=request.POST.get("mode") == "skip_invalid")
    else:
        messages.info(request, _("该导入已处理，无需重复确认。"))
    return redirect("imports:job", pk=job.pk)


@login_required
@require_GET
def import_errors(request: HttpRequest, pk: int) -> FileResponse:
    job = _job_for(request, pk)
    if not (job.result or {}).get("issues") or not job.file:
        raise Http404
    path = error_workbook_file(job, current_lang())
    audit_record(action="import_errors_download", request=request, obj=job,
                 detail={"kind": (job.params or {}).get("kind", ""), "rows": len(job.result["issues"])})
    name = (job.params or {}).get("filename", "upload").rsplit(".", 1)[0]
    return FileResponse(open(path, "rb"), as_attachment=True, filename=f"{name}_错误报告.xlsx",  # noqa: SIM115
                        content_type=XLSX)


@login_required
@require_POST
def import_output(request: HttpRequest, pk: int) -> HttpResponseBase:
    """The one-time result file of a written import (the `users` kind's initial passwords):
    only its importer gets it, once; the file is deleted as it is sent."""
    job = _job_for(request, pk)
    kind = job_kind(job)
    if job.created_by_id != request.user.pk or kind is None or not kind.one_time_output:
        raise PermissionDenied
    content = import_output_take(job=job, request=request)
    if content is None:
        messages.info(request, _("该文件只能下载一次，已被下载或不存在。"))
        return redirect("imports:job", pk=job.pk)
    disposition = content_disposition_header(True, f"{kind.label}_{job.pk}.xlsx") or "attachment"
    return HttpResponse(content, content_type=XLSX, headers={"Content-Disposition": disposition})


@login_required
@require_GET
def import_history(request: HttpRequest) -> HttpResponse:
    scope = require_role(request.user, *STAFF)
    jobs = import_jobs_visible_to(request.user)
    wanted = request.GET.get("kind", "")
    if wanted:
        jobs = jobs.filter(kind=JOB_PREFIX + wanted)
    page = Paginator(jobs, 20).get_page(request.GET.get("page"))
    return render(request, "imports/history.html", {
        "page": page, "rows": [_job_row(j) for j in page.object_list], "kinds": kinds_for(scope),
        "wanted": wanted, "total": page.paginator.count})


# --------------------------------------------------------------------------- presentation


def _confirmable(job: Job) -> bool:
    """A finished preview (clean, or with rows rejected): its uploader may write it."""
    return (job.status not in (Job.Status.PENDING, Job.Status.RUNNING)
            and (job.result or {}).get("phase") in ("dry_run", "rejected"))


def _job_row(job: Job) -> dict[str, Any]:
    result = job.result or {}
    kind = job_kind(job)
    return {
        "job": job, "kind": kind, "label": kind.label if kind else job.kind,
        "filename": (job.params or {}).get("filename", ""), "phase": result.get("phase", ""),
        "result": result, "checksum": (job.checksum or "")[:12],
        "user": job.created_by.get_full_name() or job.created_by.username if job.created_by
        else _("运维命令行"),
    }


def _options(kind: ImportKind | None, options: dict[str, Any] | None) -> list[tuple[str, str]]:
    """The import's options as 学期：2026年秋季学期 (never term=2026-autumn), each labelled as
    the upload form labels it."""
    out = []
    for key, value in (options or {}).items():
        if key == "list" and kind is not None:
            value = dict(kind.choices.get("list", [])).get(value, value)
        field = UploadForm.base_fields.get(key)
        out.append((str(field.label if field else key), period_label(str(value))))
    return out


def _job_context(request: HttpRequest, job: Job) -> dict[str, Any]:
    result = job.result or {}
    lang = current_lang()
    kind = job_kind(job)
    errors = issues_from_job(job)
    warnings = issues_from_job(job, "warning_issues")
    phase = result.get("phase", "")
    rows, rejected = result.get("rows", 0), result.get("rejected", 0)
    running = job.status in (Job.Status.PENDING, Job.Status.RUNNING)
    can_confirm = _confirmable(job) and job.created_by_id == request.user.pk
    extra_counts = [] if kind is None else [
        (label, result.get(key, 0)) for key, label in kind.counts.items()
        if isinstance(result.get(key, 0), int) and (phase == "written" or key not in kind.counts_after_write)]
    file_error = result.get("file_error")
    return {
        "job": job, "kind": kind, "row": _job_row(job), "result": result, "phase": phase,
        "running": running, "lang": lang, "options": _options(kind, (job.params or {}).get("options")),
        "errors": [(e, e.message(lang)) for e in errors[:SHOWN]],
        "errors_total": result.get("errors_total", len(errors)),
        "warnings": [(w, w.message(lang)) for w in warnings[:SHOWN]],
        "warnings_total": result.get("warnings_total", len(warnings)),
        "extra_counts": extra_counts,
        "missing_sample": result.get("missing_sample", []),
        "can_write": can_confirm and rejected == 0,
        "can_skip": can_confirm and rejected > 0 and rows > rejected,
        "file_error": (file_error[2] if lang == "en" else file_error[1]) if file_error else "",
        "same_file": result.get("same_file_as") if phase in ("dry_run", "written") else None,
        "noop": phase == "written" and not result.get("created") and not result.get("updated"),
        "one_time_output": bool(kind and kind.one_time_output and phase == "written"
                                and job.created_by_id == request.user.pk),
        "output_ready": bool(job.output.name),
        # failed for another reason than the file or its rows: the worker or the connection
        "broke_off": job.status == Job.Status.FAILED and phase not in ("rejected", "refused"),
    }
