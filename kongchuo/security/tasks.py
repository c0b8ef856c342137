from __future__ import annotations

from celery import shared_task


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


@shared_task(name="security.purge_export_files", ignore_result=True)
def purge_export_files() -> int:
    """Daily: delete export files older than KONGCHUO_EXPORT_RETENTION_DAYS (the Job rows stay),
    and evidence/attachment files a rolled-back upload left without a row.

    Idempotent: a second run finds the `output` fields already empty.
    """
    from django.conf import settings

    from kongchuo.security.services import export_files_purge, orphan_files_purge

    orphan_files_purge()  # evidence/attachments left behind by a rolled-back upload
    return export_files_purge(days=settings.KONGCHUO_EXPORT_RETENTION_DAYS)
