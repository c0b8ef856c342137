"""The kongchuo app's models, as Django loads them: background jobs and the task outbox here,
the audit log and the school calendar in the subpackages that own them (imported here so Django
registers them under the app label `kongchuo`). Knows no app."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from kongchuo.access.models import AuditEvent
from kongchuo.calendar.models import CalendarDay, SchoolYear

__all__ = ["AuditEvent", "CalendarDay", "Job", "OutboxMessage", "SchoolYear"]


class Job(models.Model):
    """One row per import, export or sweep run started by a user or by beat (Saleor's pattern)."""

    class Status(models.TextChoices):
        PENDING = "pending", _("排队中")
        RUNNING = "running", _("进行中")
        SUCCEEDED = "succeeded", _("已完成")
        FAILED = "failed", _("失败")

    kind = models.CharField(_("类型"), max_length=40)
    status = models.CharField(_("状态"), max_length=12, choices=Status, default=Status.PENDING)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Touched every second by a running job's heartbeat (kongchuo/jobs/lifecycle.py); a running job
    # whose heartbeat stopped is failed by the watchdog.
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    progress = models.PositiveIntegerField(default=0)  # 0..100
    message = models.TextField(blank=True)
    params = models.JSONField(default=dict, blank=True)
    result = models.JSONField(default=dict, blank=True)
    file = models.FileField(upload_to="jobs/%Y/%m/", blank=True)
    output = models.FileField(upload_to="jobs/%Y/%m/", blank=True)
    checksum = models.CharField(max_length=64, blank=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["kind", "status"])]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk} {self.status}"


class OutboxMessage(models.Model):
    """A Celery task to send, written in the same transaction as the work that asks for it
    (kongchuo.jobs.enqueue).

    If the broker is down when the transaction commits, the row stays and `outbox_drain` sends it
    once the broker is back: queued work is never lost between the database and Redis. Rows are
    deleted once the broker has accepted the message; tasks are idempotent (STYLE habit 4), so a
    rare double send after a crash between publish and delete is harmless.
    """

    task_name = models.CharField(max_length=200)
    args = models.JSONField(default=list, blank=True)
    kwargs = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["id"]
        db_table = "security_outboxmessage"  # created by the security app, which held it first

    def __str__(self) -> str:
        return f"{self.task_name} #{self.pk}"
