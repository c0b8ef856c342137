"""Maintenance tasks of the core app."""

from __future__ import annotations

from celery import shared_task
from django.db import transaction
from django.utils import timezone

from kongchuo.jobs import JobRun
from kongchuo.models import Job
from students.models import Student
from students.pinyin import name_initials
from students.services import students_initials_write


@shared_task(acks_late=True, max_retries=3)
def refresh_name_initials(job_id: int) -> dict:
    """Fill missing pinyin initials for name search, in chunks, recording the outcome on a Job.

    Idempotent: only rows whose initials are empty are touched, and writing the same initials
    twice changes nothing, so a retried or duplicated delivery is harmless.
    """
    run = JobRun(job_id)  # running, with a heartbeat (kongchuo/jobs/lifecycle.py)
    run.start()
    updated = 0
    try:
        while True:
            batch = list(Student.objects.filter(name_initials="").values_list("id", "name")[:5000])
            if not batch:
                break
            with transaction.atomic():
                students_initials_write([(pk, name_initials(name) or "-") for pk, name in batch])
            updated += len(batch)
    except Exception as exc:
        run.fail(str(exc)[:500])  # on a fresh connection: this one may be what failed
        raise
    finally:
        run.close()
    Job.objects.filter(pk=job_id).update(status=Job.Status.SUCCEEDED, progress=100,
                                         result={"updated": updated}, finished_at=timezone.now())
    return {"updated": updated}

