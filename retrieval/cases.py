"""The 劝返 workflow after an alert (DESIGN.md §4): decisions on alerts, cases, persuasion
attempts, escalation to the township government, 销号 with approval, evidence, and 督查.

Every row here is an append-only step (dated, signed by a user) or a record whose edits are
kept by simple_history; nothing is ever deleted (PROTECT everywhere). Writes live in
`retrieval.services`; these models only declare fields, constraints and scoping.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Exists, OuterRef, Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from kongchuo.access.scoping import Role, scope_of
from retrieval.models import Level
from retrieval.querysets import RoutedQuerySet

USER = settings.AUTH_USER_MODEL

# --------------------------------------------------------------------------- scoping


class CaseQuerySet(RoutedQuerySet):
    """劝返 cases. The township government sees ONLY the cases escalated to it — this method
    is the one place that rule lives (kongchuo.access.scoping leaves `for_township_gov` empty)."""

    def for_township_gov(self, township_id: int):
        escalated = Escalation.objects.filter(case=OuterRef("pk"), township_id=township_id)
        return self.filter(Exists(escalated))

    def active(self):
        return self.exclude(status=RetrievalCase.Status.CLOSED)


def _county_only_alerts(path: str) -> Q:
    from retrieval.models import Alert

    return Q(**{f"{path}__rule__in": Alert.COUNTY_ONLY_RULES})


class DecisionQuerySet(RoutedQuerySet):
    school_path = "alert__school"
    township_path = "alert__township"

    def county_only(self):
        return _county_only_alerts("alert")


class EvidenceQuerySet(RoutedQuerySet):
    """Evidence files carry the route of what they prove; the government reaches the files
    of the cases escalated to it and nothing else."""

    def for_township_gov(self, township_id: int):
        escalated = Escalation.objects.filter(case=OuterRef("case_id"), township_id=township_id)
        return self.filter(case__isnull=False).filter(Exists(escalated))

    def county_only(self):
        # The county's proof on a county-only alert (e.g. its dismissal of a grade-9 alert).
        return _county_only_alerts("decision__alert")


class CountyOnlyQuerySet(models.QuerySet):
    """Supervision plans are the bureau's own documents."""

    def visible_to(self, user):
        scope = scope_of(user)
        if scope is None or scope.role != Role.COUNTY:
            return self.none()
        return self.all()


class RectificationQuerySet(RoutedQuerySet):
    def open(self):
        return self.exclude(status=RectificationOrder.Status.CLOSED)


# --------------------------------------------------------------------------- alerts


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


# --------------------------------------------------------------------------- cases


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
        from kongchuo.access.idnumbers import mask_id

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


# --------------------------------------------------------------------------- evidence


def _evidence_path(instance: Evidence, filename: str) -> str:
    # The stored name never comes from the user: a random token plus the sniffed extension.
    return f"retrieval/evidence/{instance.token[:2]}/{instance.token}.{instance.extension}"


class Evidence(models.Model):
    """A proof file (image or PDF) of one step: a dismissal, a closure, a measure, an answer.

    It carries the route of what it proves (school/township, and the case for the township
    government), so one scoped queryset decides who may download it.
    """

    class Mime(models.TextChoices):
        JPEG = "image/jpeg", "JPEG"
        PNG = "image/png", "PNG"
        PDF = "application/pdf", "PDF"

    token = models.CharField(max_length=32, unique=True)
    file = models.FileField(_("文件"), upload_to=_evidence_path, max_length=200)
    original_name = models.CharField(_("文件名"), max_length=120)
    mime = models.CharField(_("类型"), max_length=20, choices=Mime)
    size = models.PositiveIntegerField(_("大小（字节）"))
    sha256 = models.CharField(max_length=64)
    school = models.ForeignKey("students.School", null=True, blank=True, on_delete=models.PROTECT,
                               related_name="+")
    township = models.ForeignKey("students.Township", null=True, blank=True,
                                 on_delete=models.PROTECT, related_name="+")
    decision = models.ForeignKey(AlertDecision, null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="evidence")
    case = models.ForeignKey(RetrievalCase, null=True, blank=True, on_delete=models.PROTECT,
                             related_name="evidence")
    closure = models.ForeignKey(ClosureRequest, null=True, blank=True, on_delete=models.PROTECT,
                                related_name="evidence")
    escalation = models.ForeignKey(Escalation, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="evidence")
    feedback_item = models.ForeignKey("retrieval.FeedbackItem", null=True, blank=True,
                                      on_delete=models.PROTECT, related_name="evidence")
    rectification = models.ForeignKey("retrieval.RectificationOrder", null=True, blank=True,
                                      on_delete=models.PROTECT, related_name="evidence")
    uploaded_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+",
                                    verbose_name=_("上传人"))
    uploaded_at = models.DateTimeField(_("上传时间"), auto_now_add=True)

    objects = EvidenceQuerySet.as_manager()

    class Meta:
        ordering = ["uploaded_at", "id"]
        verbose_name = _("证明材料")
        verbose_name_plural = _("证明材料")

    def __str__(self) -> str:
        return self.original_name

    @property
    def extension(self) -> str:
        return {"image/jpeg": "jpg", "image/png": "png", "application/pdf": "pdf"}[self.mime]

    @property
    def is_image(self) -> bool:
        return self.mime.startswith("image/")


# --------------------------------------------------------------------------- 督查


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


__all__ = [
    "AlertDecision", "ClosureRequest", "DismissReason", "Escalation", "Evidence",
    "PersuasionAttempt", "RectificationOrder", "RetrievalCase", "SupervisionFinding",
    "SupervisionSample", "SupervisionVisit",
]
