"""The 台账 of the work plan. Each record: who entered it, when, its edit history, a version.

学籍变动 is `students.StatusChange` (the core status history); every other ledger lives here.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from ledgers.querysets import NoteQuerySet, SchoolLedgerQuerySet, StudentLedgerQuerySet, VisitQuerySet


class LedgerEntry(models.Model):
    """Common columns: who entered it, when, optimistic-concurrency version."""

    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+",
                                   verbose_name=_("填报人"))
    created_at = models.DateTimeField(_("填报时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("修改时间"), auto_now=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        abstract = True


class ReturnReport(LedgerEntry):
    """返校报到: the child reported back at the start of a term."""

    student = models.ForeignKey("students.Student", on_delete=models.PROTECT,
                                related_name="return_reports")
    term = models.CharField(_("学期"), max_length=12)  # "2024-spring" (kongchuo.calendar.schoolyear)
    reported_on = models.DateField(_("报到日期"))
    note = models.CharField(_("备注"), max_length=200, blank=True)
    source = models.CharField(max_length=12, default="manual")  # manual / import

    history = HistoricalRecords()
    objects = StudentLedgerQuerySet.as_manager()

    class Meta:
        verbose_name = _("返校报到")
        constraints = [models.UniqueConstraint(fields=["student", "term"],
                                               name="one_return_report_per_term")]
        # The list pages show the newest first: "-reported_on, -id" reads this index backwards.
        indexes = [models.Index(fields=["term", "student"]), models.Index(fields=["reported_on", "id"])]


class VocationalRecord(LedgerEntry):
    """中职就读."""

    student = models.ForeignKey("students.Student", on_delete=models.PROTECT,
                                related_name="vocational_records")
    school_name = models.CharField(_("中职学校"), max_length=80)
    major = models.CharField(_("专业"), max_length=60, blank=True)
    start_date = models.DateField(_("就读日期"))
    proof = models.CharField(_("证明材料"), max_length=120, blank=True)

    history = HistoricalRecords()
    objects = StudentLedgerQuerySet.as_manager()

    class Meta:
        verbose_name = _("中职就读")


class OutOfCountyRecord(LedgerEntry):
    """外县就读: registered here, studying in another county."""

    student = models.ForeignKey("students.Student", on_delete=models.PROTECT,
                                related_name="out_of_county_records")
    county = models.CharField(_("就读县区"), max_length=60)
    school_name = models.CharField(_("就读学校"), max_length=80)
    grade = models.PositiveSmallIntegerField(_("年级"), null=True, blank=True)
    start_date = models.DateField(_("就读日期"))
    proof = models.CharField(_("在读证明"), max_length=120, blank=True)
    verified_by = models.CharField(_("核实人"), max_length=40, blank=True)
    verified_on = models.DateField(_("核实日期"), null=True, blank=True)

    history = HistoricalRecords()
    objects = StudentLedgerQuerySet.as_manager()

    class Meta:
        verbose_name = _("外县就读")


class Deferral(LedgerEntry):
    """延缓入学: a child of entry age deferred for illness or disability, reviewed by the township.

    The child may not be a student yet, so identity is kept here; `student` links when known.
    `school` is the school the child would enter (it scopes the record).
    """

    class Review(models.TextChoices):
        PENDING = "pending", _("待审核")
        APPROVED = "approved", _("已批准")
        REJECTED = "rejected", _("已驳回")

    school = models.ForeignKey("students.School", on_delete=models.PROTECT, related_name="deferrals")
    student = models.ForeignKey("students.Student", null=True, blank=True, on_delete=models.PROTECT,
                                related_name="deferrals")
    id_number = models.CharField(_("身份证件号"), max_length=18)
    name = models.CharField(_("姓名"), max_length=40)
    birth_date = models.DateField(_("出生日期"))
    guardian_name = models.CharField(_("监护人"), max_length=40)
    guardian_phone = models.CharField(_("监护人电话"), max_length=20, blank=True)
    reason = models.CharField(_("申请原因"), max_length=200)
    certificate = models.CharField(_("医院或残联证明"), max_length=120)
    start_date = models.DateField(_("延缓起始日期"))
    end_date = models.DateField(_("延缓截止日期"))
    review = models.CharField(_("审核状态"), max_length=10, choices=Review, default=Review.PENDING)
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="+")
    reviewed_at = models.DateTimeField(null=True, blank=True)
    review_note = models.CharField(_("审核意见"), max_length=200, blank=True)

    history = HistoricalRecords()
    objects = SchoolLedgerQuerySet.as_manager()

    class Meta:
        verbose_name = _("延缓入学")
        constraints = [
            models.CheckConstraint(condition=Q(end_date__gte=F("start_date")),
                                   name="deferral_end_after_start"),
        ]
        indexes = [models.Index(fields=["review", "end_date"])]


class HomeTeachingPlan(LedgerEntry):
    """送教上门 一人一案."""

    student = models.OneToOneField("students.Student", on_delete=models.PROTECT,
                                   related_name="home_teaching_plan")
    disability_category = models.CharField(_("残疾类别"), max_length=20)
    disability_grade = models.CharField(_("残疾等级"), max_length=10, blank=True)
    assessment = models.TextField(_("评估情况"), blank=True)
    teachers = models.CharField(_("送教教师"), max_length=120)
    goals = models.TextField(_("教学目标"), blank=True)
    start_date = models.DateField(_("开始日期"))
    end_date = models.DateField(_("结束日期"), null=True, blank=True)

    history = HistoricalRecords()
    objects = StudentLedgerQuerySet.as_manager()

    class Meta:
        verbose_name = _("送教上门计划")


class HomeTeachingVisit(LedgerEntry):
    class Content(models.TextChoices):
        CULTURE = "culture", _("文化")
        SELF_CARE = "self_care", _("生活自理")
        REHAB = "rehab", _("康复")

    plan = models.ForeignKey(HomeTeachingPlan, on_delete=models.PROTECT, related_name="visits")
    visit_date = models.DateField(_("送教日期"))
    teachers = models.CharField(_("送教教师"), max_length=120)
    periods = models.PositiveSmallIntegerField(_("课时"), default=2)
    content = models.CharField(_("送教内容"), max_length=40)  # comma-joined Content values
    notes = models.TextField(_("送教记录"), blank=True)
    guardian_signed = models.BooleanField(_("家长签字"), default=False)

    history = HistoricalRecords()
    objects = VisitQuerySet.as_manager()

    class Meta:
        verbose_name = _("送教上门记录")
        indexes = [models.Index(fields=["visit_date", "plan"])]

    @property
    def content_labels(self) -> str:
        labels = dict(self.Content.choices)
        return "、".join(str(labels.get(c, c)) for c in self.content.split(",") if c)


class LearningSupportPlan(LedgerEntry):
    """学困生帮教计划."""

    student = models.ForeignKey("students.Student", on_delete=models.PROTECT,
                                related_name="learning_support_plans")
    teacher = models.CharField(_("责任教师"), max_length=40)
    difficulty = models.CharField(_("学困表现"), max_length=200, blank=True)
    measures = models.TextField(_("帮扶措施"))
    goals = models.TextField(_("帮扶目标"), blank=True)
    start_date = models.DateField(_("开始日期"))
    active = models.BooleanField(_("帮扶中"), default=True)

    history = HistoricalRecords()
    objects = StudentLedgerQuerySet.as_manager()

    class Meta:
        verbose_name = _("学困生帮扶")


class LearningSupportNote(LedgerEntry):
    plan = models.ForeignKey(LearningSupportPlan, on_delete=models.PROTECT, related_name="notes")
    note_date = models.DateField(_("日期"))
    progress = models.TextField(_("进展情况"))

    history = HistoricalRecords()
    objects = NoteQuerySet.as_manager()

    class Meta:
        verbose_name = _("帮扶记录")


class AidRecord(LedgerEntry):
    """资助: 两免一补 and other aid, per term."""

    class Kind(models.TextChoices):
        FREE_TUITION = "tuition", _("免学杂费")
        FREE_TEXTBOOKS = "textbooks", _("免费教科书")
        LIVING = "living", _("寄宿生生活补助")
        NUTRITION = "nutrition", _("营养改善计划")
        OTHER = "other", _("其他资助")

    student = models.ForeignKey("students.Student", on_delete=models.PROTECT,
                                related_name="aid_records")
    term = models.CharField(_("学期"), max_length=12)
    kind = models.CharField(_("资助类型"), max_length=12, choices=Kind)
    amount = models.DecimalField(_("金额（元）"), max_digits=9, decimal_places=2, default=0)
    granted_on = models.DateField(_("发放日期"))
    source = models.CharField(_("资金来源"), max_length=60, blank=True)

    history = HistoricalRecords()
    objects = StudentLedgerQuerySet.as_manager()

    class Meta:
        verbose_name = _("资助")
        indexes = [models.Index(fields=["term", "student"]), models.Index(fields=["granted_on", "id"])]


class FamilyContact(LedgerEntry):
    """家校联系: home visits, parent meetings, parent school, calls."""

    class Kind(models.TextChoices):
        HOME_VISIT = "home_visit", _("家访")
        PARENT_MEETING = "meeting", _("家长会")
        PARENT_SCHOOL = "parent_school", _("家长学校")
        CALL = "call", _("电话联系")
        TALK = "talk", _("座谈")

    school = models.ForeignKey("students.School", on_delete=models.PROTECT,
                               related_name="family_contacts")
    student = models.ForeignKey("students.Student", null=True, blank=True, on_delete=models.PROTECT,
                                related_name="family_contacts")
    class_name = models.CharField(_("班级"), max_length=20, blank=True)
    kind = models.CharField(_("方式"), max_length=14, choices=Kind)
    contact_date = models.DateField(_("日期"))
    staff = models.CharField(_("参与教师"), max_length=80)
    content = models.TextField(_("内容"))
    outcome = models.TextField(_("效果"), blank=True)

    history = HistoricalRecords()
    objects = SchoolLedgerQuerySet.as_manager()

    class Meta:
        verbose_name = _("家校联系")
        indexes = [models.Index(fields=["contact_date", "id"])]


class Absence(LedgerEntry):
    """缺课登记: unexplained absence; ≥ 3 consecutive school days makes the child at risk."""

    student = models.ForeignKey("students.Student", on_delete=models.PROTECT, related_name="absences")
    start_date = models.DateField(_("缺课开始"))
    end_date = models.DateField(_("缺课结束"))
    school_days = models.PositiveSmallIntegerField(_("缺课天数（教学日）"))
    explained = models.BooleanField(_("已说明原因"), default=False)
    reason_found = models.CharField(_("查明原因"), max_length=200, blank=True)
    follow_up = models.TextField(_("跟进措施"), blank=True)

    history = HistoricalRecords()
    objects = StudentLedgerQuerySet.as_manager()

    class Meta:
        verbose_name = _("缺课登记")
        constraints = [models.CheckConstraint(condition=Q(end_date__gte=F("start_date")),
                                              name="absence_end_after_start")]
        indexes = [models.Index(fields=["explained", "end_date"]), models.Index(fields=["start_date", "id"])]


class PublicityActivity(LedgerEntry):
    """宣传教育 activities of the plan."""

    class Kind(models.TextChoices):
        PARENT_MEETING = "meeting", _("家长会")
        LECTURE = "lecture", _("专题讲座")
        BANNER = "banner", _("标语")
        LEAFLET = "leaflet", _("宣传单")
        WECHAT = "wechat", _("微信群")
        OTHER = "other", _("其他")

    school = models.ForeignKey("students.School", on_delete=models.PROTECT, related_name="publicity")
    activity_date = models.DateField(_("日期"))
    kind = models.CharField(_("形式"), max_length=10, choices=Kind)
    audience = models.CharField(_("对象"), max_length=80)
    participants = models.PositiveIntegerField(_("参与人数"), default=0)
    description = models.TextField(_("内容"), blank=True)

    history = HistoricalRecords()
    objects = SchoolLedgerQuerySet.as_manager()

    class Meta:
        verbose_name = _("宣传教育")


def _attachment_path(instance: Attachment, filename: str) -> str:
    # The stored name never comes from the user: a random name plus the sniffed extension.
    return f"ledgers/attachments/{instance.uploaded_at:%Y/%m}/{instance.token}.{instance.extension}"


class Attachment(models.Model):
    """Evidence (images, PDF) attached to any ledger entry, incl. a students.StatusChange.

    Scoped through its entry: whoever may see the entry may download the file, nobody else.
    Files sit under MEDIA_ROOT, which is never served directly (MEDIA_URL is a dead end).
    """

    class Mime(models.TextChoices):
        JPEG = "image/jpeg", "JPEG"
        PNG = "image/png", "PNG"
        WEBP = "image/webp", "WebP"
        PDF = "application/pdf", "PDF"

    content_type = models.ForeignKey("contenttypes.ContentType", on_delete=models.PROTECT,
                                     related_name="+")
    object_id = models.PositiveBigIntegerField()
    token = models.CharField(max_length=32, unique=True)
    file = models.FileField(_("文件"), upload_to=_attachment_path, max_length=200)
    original_name = models.CharField(_("文件名"), max_length=120)
    mime = models.CharField(_("类型"), max_length=40, choices=Mime)
    size = models.PositiveIntegerField(_("大小（字节）"))
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                    related_name="+", verbose_name=_("上传人"))
    uploaded_at = models.DateTimeField(_("上传时间"))

    class Meta:
        verbose_name = _("证明材料")
        ordering = ["uploaded_at", "id"]
        indexes = [models.Index(fields=["content_type", "object_id"])]

    def __str__(self) -> str:
        return self.original_name

    @property
    def extension(self) -> str:
        return {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp",
                "application/pdf": "pdf"}[self.mime]

    @property
    def is_image(self) -> bool:
        return self.mime.startswith("image/")
