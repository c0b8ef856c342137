"""Celery task of the dashboards app: the year-end rollover started in the browser (thin: it
takes a Job id; the work is in dashboards.yearclose)."""

from __future__ import annotations

from celery import shared_task

from dashboards.yearclose import JOB_TASK, year_close_job_run


@shared_task(name=JOB_TASK, acks_late=True, ignore_result=True)
def school_year_job(job_id: int) -> str:
    """Close (or reopen) the school year kept on Job `job_id`.

    Idempotent: the job is claimed by a conditional UPDATE (pending → running), so a second
    delivery does nothing; and the close itself locks the year and returns `already_done` for a
    year already closed (its writes are one transaction: a failure leaves nothing half-done).
    """
    job = year_close_job_run(job_id)
    return "skipped" if job is None else job.status
