"""Celery tasks of the ledgers: thin, they take ids."""

from __future__ import annotations

from celery import shared_task

from ledgers.services import EXPORT_JOB_TASK, ledger_export_job_run


@shared_task(name=EXPORT_JOB_TASK, acks_late=True, ignore_result=True)
def ledger_export_job_task(job_id: int) -> None:
    """Write a county-size ledger export. Idempotent: see `ledger_export_job_run` (the Job is
    claimed by a conditional UPDATE, a second delivery finds it taken and does nothing)."""
    ledger_export_job_run(job_id)
