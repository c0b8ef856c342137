"""Celery tasks of the sweeps: thin, taking ids; the work is in retrieval.sweeps.runner.

A run fans out as one task per partition (each township, plus the county level for
county-direct schools), queued through the outbox (kongchuo.jobs.enqueue) like every background
job, so several workers share a county. Every task is `acks_late` (a worker that dies mid-task
leaves the message to be delivered again) with bounded retries for database hiccups (deadlocks,
dropped connections). The names are given explicitly: they are stored in beat's PeriodicTask
rows and in outbox rows.
"""

from __future__ import annotations

import logging
import os

from celery import shared_task
from django.db import InterfaceError, OperationalError, transaction

from kongchuo.calendar.schoolyear import today
from kongchuo.jobs import enqueue
from retrieval.models import SweepRun
from retrieval.sweeps.runner import (
    DISPATCH_TASK,
    PARTITION_TASK,
    partition_failed,
    partition_run,
    pending_partitions,
    sweep_partitions_enqueue,
    sweep_prepare,
    sweep_run_create,
)
from retrieval.sweeps.selectors import SCHEDULED_TASK

log = logging.getLogger(__name__)
RETRYABLE = (OperationalError, InterfaceError)


def _worker(task) -> str:
    return f"{task.request.hostname or 'local'}:{os.getpid()}"


@shared_task(name=DISPATCH_TASK, bind=True, acks_late=True, max_retries=3, default_retry_delay=5)
def sweep_dispatch(self, run_id: int) -> list[str]:
    """Prepare a run and queue one `sweep_partition` task per partition not yet done.

    Idempotent: the prepare step is set-based and re-runnable, and a partition sent twice is
    computed once (see `sweep_partition`), so a redelivered dispatch only repeats harmless work.
    """
    run = SweepRun.objects.get(pk=run_id)
    if run.status != SweepRun.Status.RUNNING:
        return []
    try:
        sweep_prepare(run)
    except RETRYABLE as exc:
        raise self.retry(exc=exc) from exc
    keys = pending_partitions(run)
    sweep_partitions_enqueue(run_id, keys)
    return keys


@shared_task(name=PARTITION_TASK, bind=True, acks_late=True, max_retries=3, default_retry_delay=5)
def sweep_partition(self, run_id: int, key: str) -> dict | None:
    """Compute one partition (a township, or "direct") of a sweep run.

    Idempotent: alerts are inserted with ON CONFLICT DO NOTHING against the unique
    (rule, period, subject) constraint, and the partition's done-mark is written in the same
    transaction under a lock on the run row — a second delivery finds it done (or rolls its own
    work back), so the alerts and the counts are the same however often the task runs.
    """
    try:
        return partition_run(run_id, key, worker=_worker(self))
    except RETRYABLE as exc:
        if self.request.retries < self.max_retries:
            raise self.retry(exc=exc) from exc
        partition_failed(run_id, key, f"{type(exc).__name__}: {exc}")
        raise
    except Exception as exc:
        log.exception("sweep run %s partition %s failed", run_id, key)
        partition_failed(run_id, key, f"{type(exc).__name__}: {exc}")
        raise


@shared_task(name=SCHEDULED_TASK, bind=True, acks_late=True, max_retries=2, default_retry_delay=30)
def sweep_scheduled(self, sweep: str) -> int | None:
    """The entry point Celery beat calls (django-celery-beat PeriodicTask rows, editable).

    Idempotent per day: if a beat run of this sweep for today already exists (running or
    succeeded), a second delivery returns it instead of starting another.
    """
    as_of = today()
    existing = (SweepRun.objects.filter(sweep=sweep, as_of=as_of, trigger="beat")
                .exclude(status=SweepRun.Status.FAILED).first())
    if existing is not None:
        return existing.pk
    try:
        with transaction.atomic():  # the run and its dispatch commit together
            run = sweep_run_create(sweep=sweep, as_of=as_of, trigger="beat")
            enqueue(DISPATCH_TASK, run.pk)
    except RETRYABLE as exc:
        raise self.retry(exc=exc) from exc
    return run.pk
