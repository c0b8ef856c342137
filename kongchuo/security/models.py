"""Rows the security machinery keeps: which session belongs to whom, and the task outbox."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class UserSession(models.Model):
    """Session keys of a user, written at login, so deactivation ends them with one DELETE.

    Django's session table stores the user id only inside the encoded session data; without this
    index ending a user's sessions would mean decoding every session in the table.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    session_key = models.CharField(max_length=40, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["user"])]

    def __str__(self) -> str:
        return f"{self.user_id} {self.created_at:%Y-%m-%d %H:%M}"


class OutboxMessage(models.Model):
    """A Celery task to send, written in the same transaction as the work that asks for it.

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

    def __str__(self) -> str:
        return f"{self.task_name} #{self.pk}"
