"""Periodic tasks of the jobs machinery (kongchuo knows no app). Their names are stored in beat's
PeriodicTask rows and in outbox rows, so they are given explicitly and never change."""

from __future__ import annotations

from celery import shared_task

from kongchuo.jobs.lifecycle import watchdog_run
from kongchuo.jobs.outbox import outbox_publish


@shared_task(name="kongchuo.jobs_watchdog", ignore_result=True)
def jobs_watchdog() -> dict[str, list]:
    """Every 30 s (beat): the one watchdog. Fails the running jobs whose heartbeat stopped and
    runs the checks apps registered (kongchuo/jobs/lifecycle.py, `watchdog_run`); the ids each
    acted on, by name ("jobs": the jobs failed).

    Idempotent: a conditional UPDATE on running jobs with a stale heartbeat (a second run, or a
    second beat, finds them failed already); each registered check says why it is.
    """
    return watchdog_run()


@shared_task(name="security.outbox_drain", ignore_result=True)
def outbox_drain() -> int:
    """Send the outbox rows left behind while the broker was down.

    Idempotent: rows are claimed with SKIP LOCKED and deleted once published; the tasks they carry
    are idempotent themselves, so a publish repeated after a crash does no harm.
    """
    return outbox_publish()
