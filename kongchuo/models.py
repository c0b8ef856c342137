"""Shared machinery rows: background jobs, the task outbox and the append-only audit log. Knows
no app."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


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


class AuditEvent(models.Model):
    """Append-only audit trail (MLPS level 3): never updated or deleted by the application.

    Triggers on PostgreSQL and SQLite (migration 0003) refuse UPDATE and DELETE outright.
    """

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.DO_NOTHING,
        db_constraint=False, related_name="+",
    )
    username = models.CharField(max_length=150, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    action = models.CharField(max_length=40, db_index=True)
    object_type = models.CharField(max_length=60, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    object_repr = models.CharField(max_length=200, blank=True)
    outcome = models.CharField(max_length=20, default="ok")
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.username} {self.action} {self.object_type}"


class CalendarDay(models.Model):
    """An exception to the Monday–Friday school week: a holiday on a weekday (国庆, 春节…) or a
    make-up working Saturday/Sunday (调休). Kept by the county in the admin; read by the sweeps
    that count school days (consecutive absences)."""

    date = models.DateField(_("日期"), unique=True)
    school_day = models.BooleanField(_("是否上课"), default=False)
    note = models.CharField(_("说明"), max_length=60, blank=True)

    class Meta:
        ordering = ["date"]
        verbose_name = _("校历调整")
        verbose_name_plural = _("校历调整")

    def __str__(self) -> str:
        return f"{self.date:%Y-%m-%d} {'上课' if self.school_day else '放假'} {self.note}".strip()


class SchoolYear(models.Model):
    """A school year (1 September Y – 31 August Y+1, code Y) as the county keeps it: the opening
    days of its two terms (`Y-autumn`, `Y+1-spring`) and whether it has been closed by the
    year-end rollover (学年结转). A year without a row opens on the default days
    (`kongchuo.schoolyear.Term.start`) and is open. Read through `kongchuo.schoolyear`."""

    year = models.PositiveSmallIntegerField(_("学年"), unique=True)
    autumn_opens = models.DateField(_("秋季学期开学日期"), null=True, blank=True)
    spring_opens = models.DateField(_("春季学期开学日期"), null=True, blank=True)
    closed_at = models.DateTimeField(_("结转时间"), null=True, blank=True)
    closed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                  on_delete=models.PROTECT, related_name="+",
                                  verbose_name=_("结转人"))
    # The rollover's counts (the `rollover --json` keys), kept with the year it closed.
    close_result = models.JSONField(default=dict, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-year"]
        verbose_name = _("学年")
        verbose_name_plural = _("学年")
        constraints = [
            models.CheckConstraint(condition=models.Q(year__gte=2000) & models.Q(year__lte=2100),
                                   name="school_year_2000_2100"),
        ]

    def __str__(self) -> str:
        return f"{self.year}–{self.year + 1}"
