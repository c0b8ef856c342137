"""The Job side of imports: keep an upload on a Job row, run it (preview or write) as its
uploader, claim it for the worker, and queue it (the one place an import is enqueued)."""

from __future__ import annotations

from contextlib import nullcontext
from pathlib import Path
from typing import IO, Any

from django.core.files import File
from django.core.files.storage import default_storage

from kongchuo.access.audit import audit_record
from kongchuo.imports.base import kind_for
from kongchuo.imports.cells import file_sha256
from kongchuo.imports.pipeline import JOB_PREFIX, ImportResult, import_run
from kongchuo.jobs import enqueue, job_claim
from kongchuo.models import Job


def import_job_create(*, kind: str, user: Any, source: str | Path | IO[bytes], filename: str,
                      options: dict[str, Any] | None = None, origin: str = "web") -> Job:
    """Keep the upload (a path or an open binary file) on a pending Job row (who, when,
    checksum, options), under MEDIA_ROOT/jobs/: the error workbook can be rebuilt and the
    import re-run by a worker on another machine."""
    kind_for(kind, user)  # ImportRefused: an unknown kind, or one the user may not import
    job = Job(kind=JOB_PREFIX + kind, created_by=user,
              params={"kind": kind, "options": dict(options or {}), "filename": filename, "origin": origin})
    with open(source, "rb") if isinstance(source, (str, Path)) else nullcontext(source) as fh:
        job.file.save(_safe_name(filename), File(fh), save=False)
    job.checksum = file_sha256(job.file.path)
    job.save()
    return job


def _safe_name(filename: str) -> str:
    suffix = Path(filename).suffix.lower()
    return "upload" + (suffix if suffix in (".xlsx", ".xls", ".csv") else ".bin")


def import_job_run(job: Job, *, write: bool, skip_invalid: bool = False,
                   progress: bool = False, request: Any = None) -> ImportResult:
    """Run (preview or write) the import kept on `job` as the user who uploaded it."""
    params = job.params or {}
    return import_run(kind=params["kind"], path=job.file.path, user=job.created_by,
                      options=params.get("options") or {}, dry_run=not write,
                      skip_invalid=skip_invalid, job=job, filename=params.get("filename", ""),
                      request=request, job_progress=progress)


def import_job_claim(job_id: int, *, write: bool) -> Job | None:
    """The job to run, or None when this delivery has nothing left to do: the job is written
    (or previewed, for a preview), or no longer pending (job_claim's conditional UPDATE: a
    second delivery, or the watchdog, took it; the user submits again)."""
    job = Job.objects.filter(pk=job_id, kind__startswith=JOB_PREFIX).select_related("created_by").first()
    phase = (job.result or {}).get("phase") if job else None
    if job is None or not job.file or phase == "written" or (not write and phase == "dry_run"):
        return None
    return job if job_claim(job_id, kind_prefix=JOB_PREFIX) else None


def import_job_start(job: Job, *, write: bool, skip_invalid: bool = False) -> None:
    """Queue the job for the worker (through the outbox, after commit): big files."""
    Job.objects.filter(pk=job.pk).update(status=Job.Status.PENDING, progress=0)
    enqueue("imports.job_run", job.pk, write=write, skip_invalid=skip_invalid)


def import_output_take(*, job: Job, request: Any = None) -> bytes | None:
    """The one-time output file of a written import (the `users` kind's initial passwords),
    read and deleted, its download audited; None when it was already taken. Of two requests at
    once, only the one whose UPDATE clears the file's name reads it."""
    name = job.output.name
    if not name or not Job.objects.filter(pk=job.pk, output=name).update(output=""):
        return None
    try:
        with default_storage.open(name, "rb") as fh:
            content = fh.read()
    except FileNotFoundError:  # the job named a file that is gone
        return None
    default_storage.delete(name)
    audit_record(action="import_output_download", request=request, obj=job,
                 detail={"kind": job.kind.removeprefix(JOB_PREFIX)})
    return content
