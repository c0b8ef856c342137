"""Periodic tasks of the shared machinery (kongchuo knows no app)."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="kongchuo.jobs_watchdog", ignore_result=True)
def jobs_watchdog() -> list[int]:
    """Every 30 s (beat): fail the running jobs whose heartbeat stopped (kongchuo/jobs.py).

    Idempotent: a conditional UPDATE on running jobs with a stale heartbeat; a second run (or
    a second beat) finds them failed already.
    """
    from kongchuo.jobs import jobs_fail_stalled

    return jobs_fail_stalled()
