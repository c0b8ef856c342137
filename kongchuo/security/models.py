"""Rows the security machinery keeps: which session belongs to whom."""

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
