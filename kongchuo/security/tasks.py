from __future__ import annotations

from celery import shared_task


@shared_task(name="security.outbox_drain", ignore_result=True)
def outbox_drain() -> int:
    """Send the outbox rows left behind while the broker was down.

    Idempotent: rows are claimed with SKIP LOCKED and deleted once published; the tasks they carry
    are idempotent themselves, so a publish repeated after a crash does no harm.
    """
    from kongchuo.security.outbox import outbox_publish

    return outbox_publish()


@shared_task(name="security.prune_sessions", ignore_result=True)
def prune_sessions() -> int:
    """Daily: remove expired sessions (Django's clearsessions) and their index rows.

    Idempotent: both steps delete only what is already expired or orphaned.
    """
    from django.contrib.sessions.models import Session
    from django.utils import timezone

    from kongchuo.security.services import user_sessions_prune

    Session.objects.filter(expire_date__lt=timezone.now()).delete()
    return user_sessions_prune()
