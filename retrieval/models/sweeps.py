"""The record of one sweep run (the sweeps themselves: retrieval/sweeps/)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class SweepRun(models.Model):
    """One run of a sweep: when, by whom (or beat), as-of date, counts per township, outcome."""

    class Status(models.TextChoices):
        RUNNING = "running", _("进行中")
        SUCCEEDED = "succeeded", _("已完成")
        FAILED = "failed", _("失败")

    sweep = models.CharField(_("排查"), max_length=30)
    as_of = models.DateField(_("基准日期"))
    period = models.CharField(_("周期"), max_length=20)
    township_code = models.CharField(max_length=9, blank=True)  # blank = whole county
    triggered_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                     on_delete=models.SET_NULL, related_name="+")
    trigger = models.CharField(max_length=10, default="manual")  # manual / beat / cli
    status = models.CharField(max_length=10, choices=Status, default=Status.RUNNING)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    created = models.PositiveIntegerField(default=0)
    already_open = models.PositiveIntegerField(default=0)
    resolved = models.PositiveIntegerField(default=0)
    per_township = models.JSONField(default=dict, blank=True)
    message = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["sweep", "-started_at"])]

    def __str__(self) -> str:
        return f"{self.sweep} {self.as_of} {self.status}"
