"""The Celery task that runs big imports off the request (thin: it takes a Job id)."""

from __future__ import annotations

from typing import Any

from celery import shared_task
from django.db import InterfaceError, OperationalError
from django.utils.translation import gettext_noop

from kongchuo.imports.cells import Text, site_text
from kongchuo.imports.runner import import_job_claim, import_job_run
from kongchuo.jobs import job_requeue


@shared_task(name="imports.job_run", bind=True, acks_late=True, max_retries=2,
             default_retry_delay=10, ignore_result=True)
def import_job_task(self: Any, job_id: int, write: bool = False, skip_invalid: bool = False) -> dict:
    """Preview (write=False) or write the import kept on Job `job_id`.

    Idempotent: only a pending job is taken (import_job_claim); the write, in one transaction,
    first locks the Job row and stops if it is already written, and every kind upserts on
    natural keys, so a redelivered or retried task creates no duplicate. A failed run rolls
    back whole; a lost connection puts the job back to pending for the retry.
    """
    job = import_job_claim(job_id, write=write)
    if job is None:
        return {"job": job_id, "skipped": True}
    try:
        result = import_job_run(job, write=write, skip_invalid=skip_invalid, progress=True)
    except (OperationalError, InterfaceError) as exc:
        if self.request.retries < self.max_retries:
            attempt = self.request.retries + 1
            job_requeue(job_id, site_text(Text(gettext_noop("数据库连接中断，%(seconds)s 秒后自动重试（第 %(attempt)s 次）"),
                                               seconds=self.default_retry_delay, attempt=attempt)))
            raise self.retry(exc=exc) from exc
        raise
    return {"job": job_id, "exit": result.exit_code, "written": result.written}
