"""Periodic tasks of the jobs machinery (kongchuo knows no app). Their names are stored in beat's
PeriodicTask rows and in outbox rows, so they are given explicitly and never change."""

from __future__ import annotations

from celery import shared_task

from kongchuo.jobs.lifecycle import jobs_fail_stalled
from kongchuo.jobs.outbox import outbox_publish


@shared_task(name="kongchuo.jobs_watchdog", ignore_result=True)
def jobs_watchdog() -> list[int]:
    """Every 30 s (beat): fail the running jobs whose heartbeat stopped (kongchuo/jobs/lifecycle.py).

    Idempotent: a conditional UPDATE on running jobs with a stale heartbeat; a second run (or
    a second beat) finds them failed already.
    """
    return jobs_fail_stalled()


@shared_task(name="security.outbox_drain", ignore_result=True)
def outbox_drain() -> int:
    """Send the outbox rows left behind while the broker was down.

    Idempotent: rows are claimed with SKIP LOCKED and deleted once published; the tasks they carry
    are idempotent themselves, so a publish repeated after a crash does no harm.
    """
    return outbox_publish()
