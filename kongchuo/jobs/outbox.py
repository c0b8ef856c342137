"""`enqueue`, the one way to queue background work: through an outbox, so work asked for while
the broker is down is sent when it is back.

`delay_on_commit` publishes after the transaction commits; if Redis is down at that moment the
database work is committed but the task is lost. `enqueue` writes an OutboxMessage row inside
the caller's transaction instead (committed together with the work, or rolled back with it),
then tries to publish after commit. A row whose publish fails stays, and `outbox_drain` (beat,
every minute; also `manage.py outbox_drain`) sends it once the broker answers again.

Tasks are named, not imported: a service queues its app's task by the name the task declares
(`@shared_task(name=...)`), so services never import their tasks module (which imports them).

    from kongchuo.jobs import enqueue
    with transaction.atomic():
        job = Job.objects.create(kind="some_export", ...)
        enqueue("someapp.export_job", job.pk)  # the name the task declares
"""

from __future__ import annotations

import logging

from celery import current_app
from django.db import transaction
from django.db.models import F
from kombu.exceptions import OperationalError as KombuOperationalError

from kongchuo.models import OutboxMessage

logger = logging.getLogger("kongchuo.outbox")

BROKER_DOWN = (KombuOperationalError, ConnectionError, OSError, TimeoutError)
# One quick reconnect (a pooled connection may be stale after Redis restarted), no long retry
# loop inside a web request: the outbox row is the retry.
RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2}


def enqueue(task_name: str, *args, **kwargs) -> OutboxMessage:
    """Record the task `task_name(*args, **kwargs)` in the current transaction; publish it after
    commit (at once outside a transaction).

    Arguments must be JSON-serialisable (ids, not objects: tasks are thin and take ids).
    """
    message = OutboxMessage.objects.create(task_name=task_name, args=list(args), kwargs=kwargs)
    conn = transaction.get_connection()
    if not conn.in_atomic_block:
        outbox_publish(message_ids=[message.pk])
        return message
    batch = getattr(conn, "_kongchuo_outbox_batch", None)
    if batch is None or batch.sent or batch.hooks is not conn.run_on_commit:
        batch = conn._kongchuo_outbox_batch = _Batch(conn.run_on_commit)
        transaction.on_commit(batch.publish)
    batch.ids.append(message.pk)
    return message


class _Batch:
    """The messages one transaction queued, published together once it commits: a sweep run's
    partitions leave in one go, so a worker killed right after the commit strands as little as
    `delay_on_commit` would (what it strands, the drain sends).

    `hooks` is the connection's list of commit callbacks when the batch began: Django replaces
    that list when a transaction (or a savepoint) ends, so a batch never outlives its
    transaction; a message in a savepoint rolled back is gone from the table and publishing
    its id finds nothing."""

    def __init__(self, hooks: list) -> None:
        self.hooks = hooks
        self.ids: list[int] = []
        self.sent = False

    def publish(self) -> None:
        self.sent = True
        outbox_publish(message_ids=self.ids)


def outbox_publish(*, message_ids=None, limit: int = 1000) -> int:
    """Publish pending rows (oldest first); delete those the broker took. Returns how many.

    Stops at the first broker error (the rest would fail the same way) and leaves that row and
    the rest with their attempt count and the error. Rows are claimed with SKIP LOCKED on
    PostgreSQL, so two drains never publish the same row at once.
    """
    sent: list[int] = []
    with transaction.atomic():
        rows = OutboxMessage.objects.select_for_update(skip_locked=True).order_by("pk")
        if message_ids is not None:
            rows = rows.filter(pk__in=message_ids)
        due = list(rows[:limit])
        for message in due:
            task = _registered(message.task_name)
            try:
                if task is None:
                    current_app.send_task(message.task_name, args=message.args, kwargs=message.kwargs,
                                          retry=True, retry_policy=RETRY_POLICY)
                else:
                    task.apply_async(args=message.args, kwargs=message.kwargs, retry=True,
                                     retry_policy=RETRY_POLICY)
            except BROKER_DOWN as exc:
                logger.warning("broker unavailable, %s kept in the outbox (%s)", message,
                               exc.__class__.__name__)
                OutboxMessage.objects.filter(pk__in=[m.pk for m in due if m.pk not in sent]).update(
                    attempts=F("attempts") + 1, last_error=str(exc)[:300])
                break
            sent.append(message.pk)
        if sent:
            OutboxMessage.objects.filter(pk__in=sent).delete()
    return len(sent)


def _registered(task_name: str):
    """The task of that name as this process knows it, or None (a worker may still know it).

    A web process has imported only the tasks modules something imported; an unknown name has
    Celery import every installed app's `tasks` (as a worker does at start), so that without a
    broker (eager mode) the task runs here instead of being sent to nobody."""
    task = current_app.tasks.get(task_name)
    if task is None:
        current_app.autodiscover_tasks(force=True)
        task = current_app.tasks.get(task_name)
    return task
