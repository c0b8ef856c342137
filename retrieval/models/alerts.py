"""Suspected-dropout alerts (疑似辍学预警) raised by the sweeps, and the decisions on them."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from kongchuo.calendar.schoolyear import period_label
from retrieval.models.common import USER, Level
from retrieval.models.sweeps import SweepRun
from retrieval.querysets import AlertQuerySet, DecisionQuerySet


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


class DismissReason(models.TextChoices):
    IN_SCHOOL = "in_school", _("在校就读")
    TRANSFERRED = "transferred", _("已转学")
    OUT_OF_COUNTY = "out_of_county", _("外县就读")
    VOCATIONAL = "vocational", _("中职就读")
    DEFERRED = "deferred", _("延缓入学")
    HOME_TEACHING = "home_teaching", _("送教上门")
    LEAVE = "leave", _("请假/休学")
    DATA_ERROR = "data_error", _("信息错误")
    DECEASED = "deceased", _("死亡")
    ABROAD = "abroad", _("出国")
    OTHER = "other", _("其他")


# Reasons that only stand with a document attached (在读证明, 转学回执, 死亡证明…).
DISMISS_NEEDS_EVIDENCE = frozenset({
    DismissReason.TRANSFERRED, DismissReason.OUT_OF_COUNTY, DismissReason.VOCATIONAL,
    DismissReason.DECEASED, DismissReason.ABROAD,
})
DISMISS_NEEDS_NOTE = frozenset({DismissReason.DATA_ERROR, DismissReason.OTHER})


class AlertDecision(models.Model):
    """A confirmation or dismissal of an alert, and (for dismissals) its review a level up.

    A wrong dismissal is overturned, never deleted: the row stays with status `overturned` and
    the alert re-opens for a new decision.
    """

    class Kind(models.TextChoices):
        CONFIRM = "confirm", _("确认")
        DISMISS = "dismiss", _("排除")

    class Review(models.TextChoices):
        NOT_REQUIRED = "not_required", _("无需复核")
        PENDING = "pending", _("待复核")
        UPHELD = "upheld", _("复核通过")
        OVERTURNED = "overturned", _("复核驳回")

    alert = models.ForeignKey("retrieval.Alert", on_delete=models.PROTECT, related_name="decisions")
    kind = models.CharField(_("处理结果"), max_length=8, choices=Kind)
    reason = models.CharField(_("排除原因"), max_length=16, choices=DismissReason, blank=True)
    note = models.TextField(_("说明"), blank=True)
    decided_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+",
                                   verbose_name=_("处理人"))
    decided_level = models.CharField(max_length=12, choices=Level)
    decided_at = models.DateTimeField(_("处理时间"), auto_now_add=True)
    case = models.ForeignKey("retrieval.RetrievalCase", null=True, blank=True,
                             on_delete=models.PROTECT, related_name="decisions")
    review_level = models.CharField(_("复核层级"), max_length=12, choices=Level, blank=True)
    review_status = models.CharField(_("复核状态"), max_length=12, choices=Review,
                                     default=Review.NOT_REQUIRED)
    reviewed_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+", verbose_name=_("复核人"))
    reviewed_at = models.DateTimeField(_("复核时间"), null=True, blank=True)
    review_note = models.TextField(_("复核意见"), blank=True)

    objects = DecisionQuerySet.as_manager()

    class Meta:
        ordering = ["alert_id", "decided_at", "id"]
        verbose_name = _("预警处理记录")
        verbose_name_plural = _("预警处理记录")
        indexes = [models.Index(fields=["review_status", "review_level"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind="confirm") | ~Q(reason=""), name="dismissal_has_reason"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.alert_id}"
