"""Province/city suspected-dropout lists (反馈名单) and their rows to verify."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from retrieval.querysets import FeedbackBatchQuerySet, FeedbackItemQuerySet


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
