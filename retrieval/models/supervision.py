"""督查: the bureau's supervision visits, their re-check samples, findings and 整改通知."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from retrieval.models.cases import RetrievalCase
from retrieval.models.common import USER
from retrieval.querysets import CountyOnlyQuerySet, RectificationQuerySet


class SupervisionVisit(models.Model):
    """A supervision visit planned by a bureau section (股室/站), with its re-check sample."""

    class Status(models.TextChoices):
        PLANNED = "planned", _("计划中")
        DONE = "done", _("已完成")

    title = models.CharField(_("督查事项"), max_length=120)
    section = models.CharField(_("督查股室（站）"), max_length=40)
    township = models.ForeignKey("students.Township", null=True, blank=True,
                                 on_delete=models.PROTECT, related_name="+",
                                 verbose_name=_("督查乡镇"))
    school = models.ForeignKey("students.School", null=True, blank=True, on_delete=models.PROTECT,
                               related_name="+", verbose_name=_("督查学校"))
    planned_on = models.DateField(_("计划日期"))
    visited_on = models.DateField(_("督查日期"), null=True, blank=True)
    status = models.CharField(_("状态"), max_length=8, choices=Status, default=Status.PLANNED)
    summary = models.TextField(_("督查小结"), blank=True)
    sample_seed = models.BigIntegerField(null=True, blank=True)  # reproducible draw
    planned_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+",
                                   verbose_name=_("计划人"))
    created_at = models.DateTimeField(auto_now_add=True)
    version = models.PositiveIntegerField(default=1)

    objects = CountyOnlyQuerySet.as_manager()

    class Meta:
        ordering = ["-planned_on", "-id"]
        verbose_name = _("督查")
        verbose_name_plural = _("督查")

    def __str__(self) -> str:
        return self.title


class SupervisionSample(models.Model):
    """One closed case or dismissed alert drawn for re-checking on a visit."""

    class Result(models.TextChoices):
        PENDING = "pending", _("待复查")
        OK = "ok", _("属实")
        PROBLEM = "problem", _("发现问题")

    visit = models.ForeignKey(SupervisionVisit, on_delete=models.PROTECT, related_name="samples")
    case = models.ForeignKey(RetrievalCase, null=True, blank=True, on_delete=models.PROTECT,
                             related_name="+")
    alert = models.ForeignKey("retrieval.Alert", null=True, blank=True, on_delete=models.PROTECT,
                              related_name="+")
    weight = models.FloatField(default=1.0)
    weight_reasons = models.CharField(_("重点关注"), max_length=60, blank=True)
    result = models.CharField(_("复查结果"), max_length=8, choices=Result, default=Result.PENDING)
    note = models.TextField(_("复查说明"), blank=True)
    checked_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    checked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["visit_id", "-weight", "id"]
        verbose_name = _("督查抽查")
        constraints = [
            models.CheckConstraint(
                condition=(Q(case__isnull=False, alert__isnull=True)
                           | Q(case__isnull=True, alert__isnull=False)),
                name="sample_is_case_or_alert"),
            models.UniqueConstraint(fields=["visit", "case"], name="sample_case_once_per_visit"),
            models.UniqueConstraint(fields=["visit", "alert"], name="sample_alert_once_per_visit"),
        ]


class SupervisionFinding(models.Model):
    """A problem found on a visit. `teacher_conduct` is the plan's 规范办学行为 violation: a
    teacher's conduct drove a child out of school; it is counted separately."""

    class Kind(models.TextChoices):
        TEACHER_CONDUCT = "teacher_conduct", _("教师教育教学行为导致学生辍学")
        PUSH_OUT = "push_out", _("劝退/变相劝退学困生")
        FALSE_DISMISSAL = "false_dismissal", _("排除依据不实")
        FALSE_CLOSURE = "false_closure", _("销号依据不实")
        LEDGER = "ledger", _("台账不规范")
        AID = "aid", _("资助政策未落实")
        SPECIAL_ED = "special_ed", _("特殊群体入学/送教不到位")
        OTHER = "other", _("其他")

    visit = models.ForeignKey(SupervisionVisit, on_delete=models.PROTECT, related_name="findings")
    sample = models.ForeignKey(SupervisionSample, null=True, blank=True, on_delete=models.PROTECT,
                               related_name="findings")
    kind = models.CharField(_("问题类型"), max_length=16, choices=Kind)
    school = models.ForeignKey("students.School", null=True, blank=True, on_delete=models.PROTECT,
                               related_name="+", verbose_name=_("涉及学校"))
    township = models.ForeignKey("students.Township", null=True, blank=True,
                                 on_delete=models.PROTECT, related_name="+")
    student = models.ForeignKey("students.Student", null=True, blank=True, on_delete=models.PROTECT,
                                related_name="+")
    teacher_name = models.CharField(_("涉及教师"), max_length=40, blank=True)
    description = models.TextField(_("问题描述"))
    recorded_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["visit_id", "id"]
        verbose_name = _("督查发现问题")
        indexes = [models.Index(fields=["kind"])]

    def __str__(self) -> str:
        return self.get_kind_display()

    @property
    def is_teacher_conduct(self) -> bool:
        return self.kind == self.Kind.TEACHER_CONDUCT


class RectificationOrder(models.Model):
    """整改通知: issued on a finding with a deadline; the school (or township) reports back,
    the bureau closes it."""

    class Status(models.TextChoices):
        OPEN = "open", _("待整改")
        REPORTED = "reported", _("已反馈")
        CLOSED = "closed", _("已销号")

    finding = models.ForeignKey(SupervisionFinding, on_delete=models.PROTECT,
                                related_name="orders")
    school = models.ForeignKey("students.School", null=True, blank=True, on_delete=models.PROTECT,
                               related_name="+", verbose_name=_("整改单位"))
    township = models.ForeignKey("students.Township", null=True, blank=True,
                                 on_delete=models.PROTECT, related_name="+")
    requirement = models.TextField(_("整改要求"))
    deadline = models.DateField(_("整改期限"))
    status = models.CharField(_("状态"), max_length=8, choices=Status, default=Status.OPEN)
    issued_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    issued_at = models.DateTimeField(auto_now_add=True)
    report = models.TextField(_("整改情况"), blank=True)
    reported_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+")
    reported_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT,
                                  related_name="+")
    closed_at = models.DateTimeField(null=True, blank=True)
    close_note = models.TextField(_("验收意见"), blank=True)
    version = models.PositiveIntegerField(default=1)

    history = HistoricalRecords()
    objects = RectificationQuerySet.as_manager()

    class Meta:
        ordering = ["deadline", "id"]
        verbose_name = _("整改通知")
        verbose_name_plural = _("整改通知")

    def __str__(self) -> str:
        return f"{self.finding} {self.deadline}"
