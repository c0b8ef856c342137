"""Sweeps, suspected-dropout alerts and feedback lists (DESIGN.md §3–4).

The 劝返 case workflow (cases, attempts, escalation, 销号, supervision) builds on `Alert`.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from kongchuo.calendar.schoolyear import period_label
from retrieval.querysets import AlertQuerySet, FeedbackBatchQuerySet, FeedbackItemQuerySet


class Level(models.TextChoices):
    SCHOOL = "school", _("学校")
    TOWNSHIP = "township", _("乡镇中心学校")
    COUNTY = "county", _("县教育局")
    TOWNSHIP_GOV = "township_gov", _("属地政府")


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


class Alert(models.Model):
    """A suspected dropout (疑似辍学) or another finding of a sweep, routed to whoever must act.

    `subject` identifies what the alert is about: a 身份证件号 for a child, `school:CODE` for a
    school-level finding. One alert per (rule, period, subject), enforced by the database, makes
    every sweep idempotent however often it runs.
    """

    class Rule(models.TextChoices):
        RETURN_CHECK = "return_check", _("返校核查")
        GRADE9 = "grade9_screening", _("九年级排查")
        CENSUS = "census", _("适龄儿童摸排")
        ENTRY = "entry", _("两一入学")
        FEEDBACK = "feedback_verification", _("反馈核查")
        HOME_TEACHING = "home_teaching", _("送教上门次数不足")
        AID = "aid_coverage", _("资助未覆盖")
        ABSENCE = "absence", _("连续缺课")
        EXPIRY = "expiries", _("延缓/休学到期")
        OVERDUE = "overdue", _("劝返超期")
        TRANSFER_UNRECEIVED = "transfer_unreceived", _("转出未接收")
        ROSTER_MISSING = "roster_missing", _("新学期名册缺失")
        SUPPORT_UNENROLLED = "support_unenrolled", _("帮扶对象未入学")
        TRANSFER_PROOF = "transfer_proof", _("转出县外缺接收证明")

    # A grade-9 screening alert is a suspected 劝退 by the school it is routed to: the county
    # reviews it; the school and its township center school never see it (DESIGN.md §3).
    COUNTY_ONLY_RULES = (Rule.GRADE9,)
    # Suspected dropouts (疑似辍学): a child possibly out of school. Everything else a sweep
    # raises is a work reminder (工作提醒) for the clerk — counted and listed apart everywhere.
    SUSPECTED_RULES = (Rule.RETURN_CHECK, Rule.GRADE9, Rule.CENSUS, Rule.ENTRY, Rule.FEEDBACK,
                       Rule.ABSENCE)
    REMINDER_RULES = (Rule.HOME_TEACHING, Rule.AID, Rule.EXPIRY, Rule.OVERDUE)

    class Status(models.TextChoices):
        OPEN = "open", _("待核实")
        CONFIRMED = "confirmed", _("已确认")
        DISMISSED = "dismissed", _("已排除")
        RESOLVED = "resolved", _("已自动解除")

    rule = models.CharField(_("规则"), max_length=24, choices=Rule)
    period = models.CharField(_("周期"), max_length=20)
    subject = models.CharField(_("对象"), max_length=32)
    student = models.ForeignKey("students.Student", null=True, blank=True, on_delete=models.PROTECT,
                                related_name="alerts")
    name = models.CharField(_("姓名"), max_length=40, blank=True)
    # No single-column indexes on school/township/status: the (school, status),
    # (township, status) and (status, rule) indexes below serve every lookup, and each index
    # costs the sweeps' bulk inserts.
    school = models.ForeignKey("students.School", null=True, blank=True, on_delete=models.PROTECT,
                               related_name="alerts", db_index=False)
    township = models.ForeignKey("students.Township", null=True, blank=True,
                                 on_delete=models.PROTECT, related_name="alerts", db_index=False)
    level = models.CharField(_("处理层级"), max_length=12, choices=Level, default=Level.SCHOOL)
    status = models.CharField(_("状态"), max_length=10, choices=Status, default=Status.OPEN)
    detail = models.JSONField(default=dict, blank=True)
    sweep_run = models.ForeignKey(SweepRun, null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="alerts")
    raised_at = models.DateTimeField(_("预警时间"), auto_now_add=True)
    due_date = models.DateField(_("办理期限"), null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    # Reminders of the feedback_verification sweep (Nov–Dec): last reminder date and count.
    reminded_on = models.DateField(_("最近催办"), null=True, blank=True)
    reminders = models.PositiveSmallIntegerField(_("催办次数"), default=0)

    objects = AlertQuerySet.as_manager()

    class Meta:
        ordering = ["-raised_at"]
        verbose_name = _("疑似辍学预警")
        verbose_name_plural = _("疑似辍学预警")
        constraints = [
            models.UniqueConstraint(fields=["rule", "period", "subject"],
                                    name="one_alert_per_rule_period_subject"),
        ]
        indexes = [
            models.Index(fields=["status", "rule"]),
            models.Index(fields=["school", "status"]),
            models.Index(fields=["township", "status"]),
        ]

    def __str__(self) -> str:
        return f"{self.get_rule_display()} {period_label(self.period)} {self.name}"


class FeedbackBatch(models.Model):
    """A province/city suspected-dropout list pushed down to the county (反馈名单)."""

    title = models.CharField(_("名单名称"), max_length=120)
    issuer = models.CharField(_("下发单位"), max_length=60, blank=True)
    received_on = models.DateField(_("接收日期"))
    due_date = models.DateField(_("核查期限"))
    columns = models.JSONField(default=list, blank=True)  # the issuer's own column layout
    job = models.ForeignKey("kongchuo.Job", null=True, blank=True, on_delete=models.SET_NULL,
                            related_name="+")
    checksum = models.CharField(max_length=64, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = FeedbackBatchQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("反馈名单")

    def __str__(self) -> str:
        return self.title


class FeedbackItem(models.Model):
    """One row of a feedback list: a verification item with a verified answer and evidence."""

    class Result(models.TextChoices):
        IN_SCHOOL = "in_school", _("在校就读")
        TRANSFERRED = "transferred", _("已转学")
        OUT_OF_COUNTY = "out_of_county", _("外县就读")
        VOCATIONAL = "vocational", _("中职就读")
        DEFERRED = "deferred", _("延缓入学")
        HOME_TEACHING = "home_teaching", _("送教上门")
        DROPOUT = "dropout", _("确属辍学")
        DATA_ERROR = "data_error", _("信息错误")
        OTHER = "other", _("其他")

    batch = models.ForeignKey(FeedbackBatch, on_delete=models.PROTECT, related_name="items")
    row = models.PositiveIntegerField(_("行号"))
    seq = models.CharField(_("序号"), max_length=20, blank=True)
    name = models.CharField(_("姓名"), max_length=40)
    id_number = models.CharField(_("身份证件号"), max_length=18)
    school_name = models.CharField(_("学校名称"), max_length=80, blank=True)
    problem = models.CharField(_("问题类型"), max_length=80, blank=True)
    original = models.JSONField(default=dict, blank=True)  # the row as issued, by column label
    student = models.ForeignKey("students.Student", null=True, blank=True, on_delete=models.PROTECT,
                                related_name="feedback_items")
    school = models.ForeignKey("students.School", null=True, blank=True, on_delete=models.PROTECT,
                               related_name="feedback_items")
    township = models.ForeignKey("students.Township", null=True, blank=True,
                                 on_delete=models.PROTECT, related_name="feedback_items")
    due_date = models.DateField(_("核查期限"))
    result = models.CharField(_("核查结果"), max_length=16, choices=Result, blank=True)
    explanation = models.TextField(_("核查说明"), blank=True)
    verified_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="+",
                                    verbose_name=_("核查人"))
    verified_on = models.DateField(_("核查日期"), null=True, blank=True)
    version = models.PositiveIntegerField(default=1)

    objects = FeedbackItemQuerySet.as_manager()

    class Meta:
        ordering = ["batch_id", "row"]
        verbose_name = _("反馈核查项")
        constraints = [models.UniqueConstraint(fields=["batch", "row"], name="one_item_per_batch_row")]

    def __str__(self) -> str:
        return f"{self.batch_id}#{self.row} {self.name}"


# The 劝返 workflow's models live in their own module; importing them here registers them.
from retrieval.cases import (  # noqa: E402, F401
    AlertDecision,
    ClosureRequest,
    Escalation,
    Evidence,
    PersuasionAttempt,
    RectificationOrder,
    RetrievalCase,
    SupervisionFinding,
    SupervisionSample,
    SupervisionVisit,
)
