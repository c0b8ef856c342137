"""Maintenance tasks of the core app."""

from __future__ import annotations

from celery import shared_task
from django.db import transaction

from kongchuo.jobs import job_execute
from kongchuo.models import Job
from students.models import Student
from students.pinyin import name_initials
from students.services import students_initials_write

INITIALS_JOB_KIND = "refresh_name_initials"


@shared_task(name="students.tasks.refresh_name_initials", acks_late=True, max_retries=3)
def refresh_name_initials(job_id: int) -> dict:
    """Fill missing pinyin initials for name search, in chunks, recording the outcome on a Job
    (the one Job lifecycle, kongchuo.jobs.job_execute: claimed, with a heartbeat).

    Idempotent: the job is claimed by a conditional UPDATE (a second delivery does nothing), only
    rows whose initials are empty are touched, and writing the same initials twice changes
    nothing.
    """
    def work(job: Job, run) -> dict:
        updated = 0
        while True:
            batch = list(Student.objects.filter(name_initials="").values_list("id", "name")[:5000])
            if not batch:
                break
            with transaction.atomic():
                students_initials_write([(pk, name_initials(name) or "-") for pk, name in batch])
            updated += len(batch)
        return {"updated": updated}

    job = job_execute(job_id, work, kind_prefix=INITIALS_JOB_KIND)
    return job.result if job is not None else {"skipped": True}
