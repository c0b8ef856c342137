"""Celery tasks of the ledgers: thin, they take ids."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="ledgers.export_job", acks_late=True, ignore_result=True)
def ledger_export_job_task(job_id: int) -> None:
    """Write a county-size ledger export. Idempotent: see `ledger_export_job_run` (the Job is
    claimed by a conditional UPDATE, a second delivery finds it taken and does nothing)."""
    from ledgers.services import ledger_export_job_run

    ledger_export_job_run(job_id)
