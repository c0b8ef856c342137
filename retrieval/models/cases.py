"""The 劝返 case (DESIGN.md §4): a child to bring back, the persuasion attempts, the escalation
to the township government, and 销号 with its approval a level up.

Every row here is an append-only step (dated, signed by a user) or a record whose edits are
kept by simple_history; nothing is ever deleted (PROTECT everywhere). Writes live in
`retrieval.cases.services`; these models only declare fields and constraints.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from kongchuo.access.idnumbers import mask_id
from retrieval.models.common import USER, Level
from retrieval.querysets import CaseQuerySet


class RetrievalCase(models.Model):
    """One child to bring back (劝返), from confirmation to 销号.

    The child may be a census child who is no student of the county yet, so identity is kept
    here and `student` links when known. At most one active case per child.
    """

    class Status(models.TextChoices):
        OPEN = "open", _("劝返中")
        ESCALATED = "escalated", _("已上报属地政府")
        CLOSURE_REQUESTED = "closure_requested", _("待销号审批")
        CLOSED = "closed", _("已销号")

    class Reason(models.TextChoices):
        WEARY = "weary", _("厌学")
        LEARNING = "learning", _("学习困难")
        POVERTY = "poverty", _("家庭经济困难")
        WORK = "work", _("外出务工")
        ILLNESS = "illness", _("疾病/残疾")
        MARRIAGE = "marriage", _("早婚")
        OTHER = "other", _("其他")

    class Placement(models.TextChoices):
        REGULAR = "regular", _("随班就读")
        HOME_TEACHING = "home_teaching", _("送教上门")
        SPECIAL_SCHOOL = "special_school", _("特教学校")
        VOCATIONAL = "vocational", _("中职")
        TRANSFER = "transfer", _("转学")

    class Closure(models.TextChoices):
        RETURNED = "returned", _("已复学")
        DATA_ERROR = "data_error", _("信息错误")
        HUKOU = "hukou", _("户籍类")
        DEFERRED = "deferred", _("延缓入学")
        OVER_AGE = "over_age", _("超龄")
        MISSING = "missing", _("失踪失联")
        ABROAD = "abroad", _("出国")
        ILLNESS = "illness", _("因病因残")
        ELSEWHERE = "elsewhere", _("外地就读")
        DECEASED = "deceased", _("死亡")

    student = models.ForeignKey("students.Student", null=True, blank=True, on_delete=models.PROTECT,
                                related_name="retrieval_cases", verbose_name=_("学生"))
    id_number = models.CharField(_("身份证件号"), max_length=18)
    name = models.CharField(_("姓名"), max_length=40)
    school = models.ForeignKey("students.School", null=True, blank=True, on_delete=models.PROTECT,
                               related_name="retrieval_cases", verbose_name=_("学校"))
    township = models.ForeignKey("students.Township", null=True, blank=True,
                                 on_delete=models.PROTECT, related_name="retrieval_cases",
                                 verbose_name=_("乡镇"))
    grade = models.PositiveSmallIntegerField(_("年级"), null=True, blank=True)
    alerts = models.ManyToManyField("retrieval.Alert", blank=True, related_name="cases")
    status = models.CharField(_("状态"), max_length=18, choices=Status, default=Status.OPEN,
                              db_index=True)
    dropout_date = models.DateField(_("辍学日期"), null=True, blank=True)
    reason = models.CharField(_("辍学原因"), max_length=10, choices=Reason, default=Reason.OTHER)
    reason_note = models.TextField(_("原因说明"), blank=True)
    # 包保责任人 (work plan §三(三)1): who is answerable for bringing this child back.
    teacher_name = models.CharField(_("包保教师"), max_length=40, blank=True)
    head_teacher_name = models.CharField(_("班主任"), max_length=40, blank=True)
    village_cadre_name = models.CharField(_("村（居）干部"), max_length=40, blank=True)
    township_official_name = models.CharField(_("乡镇干部"), max_length=40, blank=True)
    placement = models.CharField(_("安置方式"), max_length=16, choices=Placement, blank=True)
    placement_date = models.DateField(_("安置日期"), null=True, blank=True)
    placement_school = models.ForeignKey("students.School", null=True, blank=True,
                                         on_delete=models.PROTECT, related_name="+",
                                         verbose_name=_("安置学校"))
    placement_note = models.CharField(_("安置说明"), max_length=200, blank=True)
    placed_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT,
                                  related_name="+")
    closure_category = models.CharField(_("销号类别"), max_length=12, choices=Closure, blank=True)
    closed_at = models.DateTimeField(_("销号时间"), null=True, blank=True)
    closed_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT,
                                  related_name="+", verbose_name=_("销号审批人"))
    source = models.CharField(max_length=12, default="alert")  # alert / feedback
    opened_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+",
                                  verbose_name=_("立案人"))
    opened_at = models.DateTimeField(_("立案时间"), auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    version = models.PositiveIntegerField(default=1)  # optimistic concurrency for edits

    history = HistoricalRecords(excluded_fields=["updated_at"])
    objects = CaseQuerySet.as_manager()

    class Meta:
        ordering = ["-opened_at", "-id"]
        verbose_name = _("劝返案件")
        verbose_name_plural = _("劝返案件")
        constraints = [
            models.UniqueConstraint(fields=["id_number"], condition=~Q(status="closed"),
                                    name="one_active_case_per_child"),
        ]
        indexes = [
            models.Index(fields=["school", "status"]),
            models.Index(fields=["township", "status"]),
        ]

    def __str__(self) -> str:
        return f"{self.name}（{self.get_status_display()}）"

    @property
    def id_masked(self) -> str:
        return mask_id(self.id_number)

    @property
    def is_active(self) -> bool:
        return self.status != self.Status.CLOSED


class PersuasionAttempt(models.Model):
    """劝返记录: one visit, call or talk with the family; appended, never edited."""

    class Method(models.TextChoices):
        HOME_VISIT = "home_visit", _("家访")
        PHONE = "phone", _("电话")
        INTERVIEW = "interview", _("约谈")

    class Outcome(models.TextChoices):
        CONTINUING = "continuing", _("继续劝返")
        AGREED = "agreed", _("同意返校")
        FAILED = "failed", _("劝返无效")

    case = models.ForeignKey(RetrievalCase, on_delete=models.PROTECT, related_name="attempts")
    attempted_on = models.DateField(_("劝返日期"))
    people = models.CharField(_("劝返人员"), max_length=120)
    method = models.CharField(_("劝返方式"), max_length=12, choices=Method)
    result = models.TextField(_("劝返情况"))
    outcome = models.CharField(_("结果"), max_length=12, choices=Outcome)
    recorded_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+",
                                    verbose_name=_("记录人"))
    recorded_at = models.DateTimeField(_("记录时间"), auto_now_add=True)

    class Meta:
        ordering = ["case_id", "attempted_on", "id"]
        verbose_name = _("劝返记录")
        verbose_name_plural = _("劝返记录")
        indexes = [models.Index(fields=["case", "-attempted_on"])]

    def __str__(self) -> str:
        return f"{self.attempted_on} {self.get_method_display()}"


class Escalation(models.Model):
    """劝返无效 → reported to the township government (属地政府/管委) with a deadline; the
    government answers with the legal measure it took."""

    class Status(models.TextChoices):
        PENDING = "pending", _("待处置")
        ANSWERED = "answered", _("已处置")

    class Measure(models.TextChoices):
        NOTICE = "notice", _("下达限期复学通知书")
        TALK = "talk", _("约谈监护人")
        WARNING = "warning", _("批评教育/书面警告")
        PENALTY = "penalty", _("行政处罚")
        LAWSUIT = "lawsuit", _("提起诉讼/支持起诉")
        OTHER = "other", _("其他措施")

    case = models.ForeignKey(RetrievalCase, on_delete=models.PROTECT, related_name="escalations")
    township = models.ForeignKey("students.Township", on_delete=models.PROTECT,
                                 related_name="escalations", verbose_name=_("属地政府"))
    note = models.TextField(_("情况说明"))
    deadline = models.DateField(_("办理期限"))
    escalated_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+",
                                     verbose_name=_("上报人"))
    escalated_at = models.DateTimeField(_("上报时间"), auto_now_add=True)
    status = models.CharField(_("状态"), max_length=8, choices=Status, default=Status.PENDING)
    notice_number = models.CharField(_("通知书文号"), max_length=40, blank=True)
    return_by = models.DateField(_("限期复学日期"), null=True, blank=True)
    measure = models.CharField(_("采取措施"), max_length=10, choices=Measure, blank=True)
    measure_date = models.DateField(_("措施日期"), null=True, blank=True)
    measure_note = models.TextField(_("处置情况"), blank=True)
    answered_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+", verbose_name=_("处置人"))
    answered_at = models.DateTimeField(_("处置时间"), null=True, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["case_id", "escalated_at", "id"]
        verbose_name = _("上报属地政府")
        verbose_name_plural = _("上报属地政府")
        indexes = [models.Index(fields=["township", "status", "deadline"])]

    def __str__(self) -> str:
        return f"{self.case_id} → {self.township_id}"


class ClosureRequest(models.Model):
    """销号申请 and its approval a level up; a rejected request stays on file."""

    class Status(models.TextChoices):
        PENDING = "pending", _("待审批")
        APPROVED = "approved", _("已批准")
        REJECTED = "rejected", _("已退回")

    case = models.ForeignKey(RetrievalCase, on_delete=models.PROTECT, related_name="closures")
    category = models.CharField(_("销号类别"), max_length=12, choices=RetrievalCase.Closure)
    note = models.TextField(_("销号说明"))
    effective_date = models.DateField(_("生效日期"))
    requested_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+",
                                     verbose_name=_("申请人"))
    requested_level = models.CharField(max_length=12, choices=Level)
    requested_at = models.DateTimeField(_("申请时间"), auto_now_add=True)
    approver_level = models.CharField(_("审批层级"), max_length=12, choices=Level)
    status = models.CharField(_("状态"), max_length=8, choices=Status, default=Status.PENDING)
    decided_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+", verbose_name=_("审批人"))
    decided_at = models.DateTimeField(_("审批时间"), null=True, blank=True)
    decision_note = models.TextField(_("审批意见"), blank=True)

    class Meta:
        ordering = ["case_id", "requested_at", "id"]
        verbose_name = _("销号申请")
        verbose_name_plural = _("销号申请")
        indexes = [models.Index(fields=["status", "approver_level"])]
        constraints = [
            models.UniqueConstraint(fields=["case"], condition=Q(status="pending"),
                                    name="one_pending_closure_per_case"),
        ]

    def __str__(self) -> str:
        return f"{self.case_id} {self.get_category_display()} {self.get_status_display()}"
