"""The core: townships, schools, students, their status history, users and responsibility."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Length
from django.db.models.lookups import Exact, In
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from kongchuo.access.idnumbers import mask_id, mask_phone
from kongchuo.access.scoping import OVERSIGHT_COUNTY, OVERSIGHT_TOWNSHIP, Role
from students.querysets import (
    CensusEntryQuerySet,
    RosterGapQuerySet,
    SchoolQuerySet,
    StatusChangeQuerySet,
    StudentQuerySet,
    SupportMarkQuerySet,
    TownshipQuerySet,
    TransferRequestQuerySet,
)


class LeftTrim(models.Func):
    """LTRIM(text, characters): both PostgreSQL and SQLite strip any of `characters` from the
    left (Django's LTrim strips whitespace only)."""

    function = "LTRIM"
    output_field = models.CharField()

    def __init__(self, expression: str, characters: str) -> None:
        super().__init__(models.F(expression), models.Value(characters))


class Township(models.Model):
    class Kind(models.TextChoices):
        TOWNSHIP = "township", _("乡镇")
        ZONE = "zone", _("开发区")

    code = models.CharField(_("乡镇代码"), max_length=9, unique=True,
                            validators=[RegexValidator(r"^\d{9}$", _("乡镇代码应为9位数字"))])
    name = models.CharField(_("名称"), max_length=40, unique=True)
    kind = models.CharField(_("类型"), max_length=10, choices=Kind, default=Kind.TOWNSHIP)

    objects = TownshipQuerySet.as_manager()

    class Meta:
        ordering = ["code"]
        verbose_name = _("乡镇")
        verbose_name_plural = _("乡镇")

    def __str__(self) -> str:
        return self.name


class School(models.Model):
    class Kind(models.TextChoices):
        PRIMARY = "primary", _("小学")
        JUNIOR = "junior", _("初中")
        NINE_YEAR = "nine_year", _("九年一贯制")
        COMPLETE = "complete", _("完全中学")
        TEACHING_POINT = "point", _("教学点")
        SPECIAL = "special", _("特殊教育学校")

    class Oversight(models.TextChoices):
        TOWNSHIP = OVERSIGHT_TOWNSHIP, _("乡镇中心学校")
        COUNTY = OVERSIGHT_COUNTY, _("县直")

    code = models.CharField(_("学校标识码"), max_length=10, unique=True,
                            validators=[RegexValidator(r"^\d{10}$", _("学校标识码应为10位数字"))])
    name = models.CharField(_("学校名称"), max_length=80)
    kind = models.CharField(_("学校类型"), max_length=12, choices=Kind)
    township = models.ForeignKey(Township, verbose_name=_("所在乡镇"), on_delete=models.PROTECT,
                                 related_name="schools")
    is_center = models.BooleanField(_("中心学校"), default=False)
    oversight = models.CharField(_("管理层级"), max_length=10, choices=Oversight,
                                 default=Oversight.TOWNSHIP)
    # Responsibility (work plan §三(三)1): the principal is first responsible, plus a clerk.
    principal_name = models.CharField(_("校长（第一责任人）"), max_length=40, blank=True)
    principal_phone = models.CharField(_("校长电话"), max_length=20, blank=True)
    clerk_name = models.CharField(_("控辍保学专干"), max_length=40, blank=True)
    clerk_phone = models.CharField(_("专干电话"), max_length=20, blank=True)
    # 对口初中: where this school's grade-6 leavers are expected in grade 7 (a primary school or
    # teaching point); the 两一 rule looks for a missing primary graduate there.
    junior_school = models.ForeignKey("self", verbose_name=_("对口初中"), null=True, blank=True,
                                      on_delete=models.SET_NULL, related_name="feeder_schools",
                                      db_index=False)

    objects = SchoolQuerySet.as_manager()

    class Meta:
        ordering = ["township__code", "-is_center", "code"]
        verbose_name = _("学校")
        verbose_name_plural = _("学校")
        constraints = [
            # One center school per township.
            models.UniqueConstraint(fields=["township"], condition=Q(is_center=True),
                                    name="one_center_school_per_township"),
            models.CheckConstraint(condition=~(Q(is_center=True) & Q(oversight=OVERSIGHT_COUNTY)),
                                   name="center_school_under_township"),
        ]

    def __str__(self) -> str:
        return self.name

    #: Kinds of school that teach grade 7: a grade-6 child there moves up in place (九年一贯制,
    #: 完全中学 with primary grades, 特殊教育学校); elsewhere grade 6 ends with 小学毕业.
    TEACHES_GRADE_7 = (Kind.JUNIOR, Kind.NINE_YEAR, Kind.COMPLETE, Kind.SPECIAL)
    PRIMARY_ONLY = (Kind.PRIMARY, Kind.TEACHING_POINT)

    @property
    def teaches_grade_7(self) -> bool:
        return self.kind in self.TEACHES_GRADE_7


class Student(models.Model):
    class Sex(models.TextChoices):
        MALE = "M", _("男")
        FEMALE = "F", _("女")

    class Status(models.TextChoices):
        ENROLLED = "enrolled", _("在读")
        SUSPENDED = "suspended", _("休学")
        TRANSFERRED = "transferred", _("转出")
        OUT_OF_COUNTY = "out_of_county", _("外县就读")
        VOCATIONAL = "vocational", _("中职就读")
        DEFERRED = "deferred", _("延缓入学")
        HOME_TEACHING = "home_teaching", _("送教上门")
        SUSPECTED = "suspected", _("疑似辍学")
        DROPPED_OUT = "dropped_out", _("辍学")
        GRADUATED = "graduated", _("毕业")
        DECEASED = "deceased", _("死亡")
        ABROAD = "abroad", _("出国")
        # Between two schools of the county: asked for by one side, not yet confirmed by the
        # other (students.transfers). Still on the sending school's roll; neither school counts
        # the child as missing.
        TRANSFERRING = "transferring", _("转学中")

    # Statuses that count as "in school anywhere" for 入学率 (DESIGN.md §5).
    IN_SCHOOL = (Status.ENROLLED, Status.SUSPENDED, Status.OUT_OF_COUNTY, Status.HOME_TEACHING,
                 Status.VOCATIONAL, Status.TRANSFERRING)

    # Unique. On PostgreSQL the unique constraint also carries the status (INCLUDE, migration
    # 0007): the census reconciliation merges the census with it in ID order and reads the
    # status from the index alone (an index-only scan), so no second index on
    # (id_number, status) needs building when the county's first roster is loaded.
    id_number = models.CharField(_("身份证件号"), max_length=18, unique=True)
    student_number = models.CharField(_("全国学籍号"), max_length=30, blank=True)
    name = models.CharField(_("姓名"), max_length=40)
    name_initials = models.CharField(_("姓名拼音首字母"), max_length=20, blank=True)
    sex = models.CharField(_("性别"), max_length=1, choices=Sex)
    birth_date = models.DateField(_("出生日期"))
    # No index of its own on either foreign key: (hukou_township, status) and (school, grade,
    # class_name) lead with them (fewer indexes: a county roster writes 200,000 rows at once).
    hukou_township = models.ForeignKey(Township, verbose_name=_("户籍乡镇"), null=True, blank=True,
                                       on_delete=models.PROTECT, related_name="+", db_index=False)
    hukou_address = models.CharField(_("户口所在地"), max_length=120, blank=True)
    address = models.CharField(_("现住址"), max_length=120, blank=True)
    school = models.ForeignKey(School, verbose_name=_("学校"), on_delete=models.PROTECT,
                               related_name="students", db_index=False)
    grade = models.PositiveSmallIntegerField(
        _("年级"), validators=[MinValueValidator(1), MaxValueValidator(9)])
    class_name = models.CharField(_("班级"), max_length=20, blank=True)
    entry_month = models.DateField(_("入学年月"), null=True, blank=True)
    status = models.CharField(_("状态"), max_length=16, choices=Status, default=Status.ENROLLED)
    # Support flags (资助/帮扶对象).
    is_poor = models.BooleanField(_("建档立卡/脱贫"), default=False)
    is_monitored = models.BooleanField(_("防返贫监测"), default=False)
    is_dibao = models.BooleanField(_("低保"), default=False)
    is_tekun = models.BooleanField(_("特困供养"), default=False)
    disability_category = models.CharField(_("残疾类别"), max_length=20, blank=True)
    disability_grade = models.CharField(_("残疾等级"), max_length=10, blank=True)
    # Groups the work plan names beside the lists above (its 家庭经济困难学生 with the
    # non-建档立卡 poor, incl. poor disabled children; 孤儿 and 事实无人抚养儿童). A database
    # default as well: the roster's SQL merge and COPY leave columns they do not name to it.
    is_hardship = models.BooleanField(_("家庭经济困难"), default=False, db_default=False)
    is_orphan = models.BooleanField(_("孤儿"), default=False, db_default=False)
    is_unsupported = models.BooleanField(_("事实无人抚养"), default=False, db_default=False)
    is_left_behind = models.BooleanField(_("留守儿童"), default=False)
    is_migrant = models.BooleanField(_("随迁子女"), default=False)
    guardian_name = models.CharField(_("监护人姓名"), max_length=40, blank=True)
    guardian_phone = models.CharField(_("监护人电话"), max_length=20, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    version = models.PositiveIntegerField(default=1)  # optimistic concurrency for edits

    # The history is read per student (id) in date order; its other copied indexes only cost
    # writes (a county roster adds 200,000 history rows).
    history = HistoricalRecords(excluded_fields=["updated_at", "name_initials"],
                                no_db_index=["id_number", "school", "hukou_township", "status"])
    objects = StudentQuerySet.as_manager()

    class Meta:
        ordering = ["school_id", "grade", "class_name", "name"]
        verbose_name = _("学生")
        verbose_name_plural = _("学生")
        constraints = [
            models.CheckConstraint(condition=Q(grade__gte=1) & Q(grade__lte=9),
                                   name="student_grade_1_9"),
            # ^[0-9]{17}[0-9X]$ without a regular expression: 18 characters, and what is left
            # after the leading ASCII digits is nothing or one X. PostgreSQL checks every row
            # a COPY writes, and a regex made a county's load measurably slower (figures:
            # docs/performance.md); SQLite called back into Python for each row.
            models.CheckConstraint(condition=Q(Exact(Length("id_number"), 18))
                                   & Q(In(LeftTrim("id_number", "0123456789"), ["", "X"])),
                                   name="student_id_number_shape"),
        ]
        indexes = [
            models.Index(fields=["school", "grade", "class_name"]),
            models.Index(fields=["hukou_township", "status"]),
            # The dashboards count the county's students per school in one pass over this
            # index alone (an index-only scan, in school order): every column their figures
            # test is in it. Needs the visibility map, i.e. (auto)vacuum. Keyed by (school,
            # id) with the rest carried: a key column after the varchar status made every
            # comparison of the build walk the tuple (same size, same plan, a slower build).
            models.Index(fields=["school", "id"], name="student_school_figures",
                         include=["status", "grade", "is_poor", "is_monitored", "is_dibao", "is_tekun",
                                  "is_hardship", "is_orphan", "is_unsupported"]),
            # Status alone (county-wide lists by status) and the initials search (LIKE 'zs%'):
            # one plain index each, not Django's db_index pair (btree + a _like twin).
            models.Index(fields=["status"], name="student_status"),
            models.Index(fields=["name_initials"], name="student_initials_prefix",
                         opclasses=["varchar_pattern_ops"]),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_poor_family(self) -> bool:
        return (self.is_poor or self.is_monitored or self.is_dibao or self.is_tekun
                or self.is_hardship or self.is_orphan or self.is_unsupported)

    @property
    def id_masked(self) -> str:
        return mask_id(self.id_number)

    @property
    def guardian_phone_masked(self) -> str:
        return mask_phone(self.guardian_phone)


# Where a status change came from (StatusChange.source), as a clerk would say it.
STATUS_CHANGE_SOURCES = {
    "manual": _("手工录入"), "import": _("批量导入"), "seed": _("演示数据"), "sweep": _("排查"),
    "ledger": _("工作台账"), "alert": _("预警确认"), "retrieval": _("劝返销号"),
    "feedback": _("反馈名单核查"), "cli": _("命令行"), "rollover": _("学年升级"), "transfer": _("转学"),
}


class StatusChange(models.Model):
    """A dated row of a student's status history. Status is never changed without one."""

    class Kind(models.TextChoices):
        ENROLL = "enroll", _("入学")
        TRANSFER_IN = "transfer_in", _("转入")
        TRANSFER_OUT = "transfer_out", _("转出")
        LEAVE = "leave", _("请假")
        SUSPEND = "suspend", _("休学")
        RESUME = "resume", _("复学")
        VOCATIONAL = "vocational", _("中职就读")
        OUT_OF_COUNTY = "out_of_county", _("外县就读")
        DEFER = "defer", _("延缓入学")
        HOME_TEACHING = "home_teaching", _("送教上门")
        SUSPECTED = "suspected", _("疑似辍学")
        DROPOUT = "dropout", _("辍学")
        RETURNED = "returned", _("劝返复学")
        GRADUATE = "graduate", _("毕业")
        DEATH = "death", _("死亡")
        ABROAD = "abroad", _("出国")
        CORRECTION = "correction", _("信息更正")
        # A 疑似辍学 mark withdrawn because the record was wrong (a 劝返 case closed as 信息错误):
        # the child's status before the mark comes back. Not a return to school (复学/劝返复学).
        SUSPICION_VOID = "suspicion_void", _("撤销疑似辍学")
        # An in-county transfer asked for (转学中) and one refused or withdrawn (the status the
        # child had before comes back); the move itself is a 转出 with its destination school.
        TRANSFER_REQUEST = "transfer_request", _("转学申请")
        TRANSFER_CANCEL = "transfer_cancel", _("撤销转学")
        # The year-end rollover (学年结转): a child moved up a grade; a child kept in the grade
        # (留级 list, recorded before the rollover). Neither changes the status.
        PROMOTE = "promote", _("升级")
        REPEAT = "repeat", _("留级")

    # No index of its own on any foreign key: the unique (student, kind, effective_date) serves
    # a child's history, nothing looks rows up by school or user (only a school's or user's
    # deletion would, and those are protected), and each index costs every bulk write — the
    # year-end rollover writes one row per child of the county (200,000) in one go.
    student = models.ForeignKey(Student, on_delete=models.PROTECT, related_name="status_changes",
                                db_index=False)
    kind = models.CharField(_("变动类型"), max_length=16, choices=Kind)
    effective_date = models.DateField(_("变动日期"))
    end_date = models.DateField(_("截止日期"), null=True, blank=True)
    from_status = models.CharField(_("原状态"), max_length=16, choices=Student.Status, blank=True)
    to_status = models.CharField(_("新状态"), max_length=16, choices=Student.Status, blank=True)
    from_school = models.ForeignKey(School, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+", verbose_name=_("原学校"), db_index=False)
    to_school = models.ForeignKey(School, null=True, blank=True, on_delete=models.PROTECT,
                                  related_name="+", verbose_name=_("去向学校"), db_index=False)
    to_school_name = models.CharField(_("去向学校（县外）"), max_length=80, blank=True)
    to_county = models.CharField(_("去向县区"), max_length=60, blank=True)
    # The grade before and after a change that moves it (升级 at the rollover); empty otherwise.
    from_grade = models.PositiveSmallIntegerField(_("原年级"), null=True, blank=True)
    to_grade = models.PositiveSmallIntegerField(_("新年级"), null=True, blank=True)
    reason = models.CharField(_("原因"), max_length=200, blank=True)
    approved_by = models.CharField(_("审批人"), max_length=40, blank=True)
    source = models.CharField(_("来源"), max_length=12, default="manual")  # manual/import/seed/sweep
    created_by = models.ForeignKey("students.User", null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+", db_index=False)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = StatusChangeQuerySet.as_manager()

    class Meta:
        ordering = ["student_id", "effective_date", "id"]
        verbose_name = _("学籍变动")
        verbose_name_plural = _("学籍变动")
        constraints = [
            models.UniqueConstraint(fields=["student", "kind", "effective_date"],
                                    name="one_status_change_per_kind_and_day"),
            models.CheckConstraint(condition=Q(end_date__isnull=True)
                                   | Q(end_date__gte=models.F("effective_date")),
                                   name="status_change_end_after_start"),
        ]
        indexes = [models.Index(fields=["kind", "effective_date"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.effective_date}"

    @property
    def recorded_by(self) -> str:
        """Who recorded the change, as the timeline says it: the person's name, else where it
        came from in words (an unknown source code is never shown)."""
        if self.created_by_id:
            return self.created_by.get_full_name() or self.created_by.username
        return str(STATUS_CHANGE_SOURCES.get(self.source, ""))


class CensusEntry(models.Model):
    """A child of the year's 户籍 list (police household register), per township."""

    year = models.PositiveSmallIntegerField(_("年度"))
    id_number = models.CharField(_("身份证件号"), max_length=18)
    name = models.CharField(_("姓名"), max_length=40)
    sex = models.CharField(_("性别"), max_length=1, choices=Student.Sex)
    birth_date = models.DateField(_("出生日期"))
    township = models.ForeignKey(Township, on_delete=models.PROTECT, related_name="census",
                                 verbose_name=_("户籍乡镇"))
    address = models.CharField(_("户籍地址"), max_length=120, blank=True)
    imported_at = models.DateTimeField(auto_now_add=True)

    objects = CensusEntryQuerySet.as_manager()

    class Meta:
        verbose_name = _("户籍儿童")
        verbose_name_plural = _("户籍儿童")
        constraints = [models.UniqueConstraint(fields=["id_number", "year"],
                                               name="census_one_row_per_child_and_year")]
        indexes = [
            models.Index(fields=["year", "township"]),
            # The year's list in ID order with all the dashboards read: merged with students'
            # (id_number, status) index without touching either table (index-only scans).
            models.Index(fields=["year", "id_number", "township", "birth_date"],
                         name="census_year_id_number"),
        ]

    def __str__(self) -> str:
        return f"{self.year} {self.name}"


class User(AbstractUser):
    role = models.CharField(_("角色"), max_length=16, choices=Role, blank=True)
    township = models.ForeignKey(Township, null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="users", verbose_name=_("乡镇"))
    school = models.ForeignKey(School, null=True, blank=True, on_delete=models.PROTECT,
                               related_name="users", verbose_name=_("学校"))
    section = models.CharField(_("股室（站）"), max_length=40, blank=True)
    phone = models.CharField(_("电话"), max_length=20, blank=True)
    # Set when someone else chose the password (a new account, a reset): the owner must pick
    # their own before anything else, and before any second-factor secret is shown.
    must_change_password = models.BooleanField(_("须修改密码"), default=False)

    class Meta:
        verbose_name = _("用户")
        verbose_name_plural = _("用户")
        constraints = [
            models.CheckConstraint(
                name="user_scope_matches_role",
                condition=(
                    Q(role="")
                    | (Q(role=Role.COUNTY) & Q(township__isnull=True) & Q(school__isnull=True))
                    | (Q(role__in=[Role.TOWNSHIP, Role.TOWNSHIP_GOV]) & Q(township__isnull=False)
                       & Q(school__isnull=True))
                    | (Q(role=Role.SCHOOL) & Q(school__isnull=False))
                ),
            )
        ]

    @property
    def scope_label(self) -> str:
        if self.role == Role.SCHOOL and self.school_id:
            return self.school.name
        if self.role in (Role.TOWNSHIP, Role.TOWNSHIP_GOV) and self.township_id:
            if self.role == Role.TOWNSHIP:
                return gettext("%(township)s中心学校") % {"township": self.township.name}
            return gettext("%(township)s人民政府") % {"township": self.township.name}
        if self.role == Role.COUNTY:
            return gettext("县教育局")
        return ""


class LeadingGroupMember(models.Model):
    """The county's 控辍保学工作领导小组 and its office (work plan §三(一))."""

    class Position(models.TextChoices):
        LEADER = "leader", _("组长")
        DEPUTY = "deputy", _("副组长")
        MEMBER = "member", _("成员")
        OFFICE = "office", _("办公室")

    position = models.CharField(_("职务"), max_length=10, choices=Position)
    name = models.CharField(_("姓名"), max_length=40)
    title = models.CharField(_("单位及职务"), max_length=80, blank=True)
    phone = models.CharField(_("电话"), max_length=20, blank=True)
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["order", "id"]
        verbose_name = _("领导小组成员")
        verbose_name_plural = _("领导小组成员")

    def __str__(self) -> str:
        return f"{self.get_position_display()} {self.name}"


class SupportMark(models.Model):
    """A child on a support list (建档立卡/脱贫, 防返贫监测, 低保, 特困, 残疾), as imported.

    The student's flag says "yes"; this row says who said so and since when. Kept also for
    children found in no school (student empty): the list is evidence for the census sweep.
    """

    class Kind(models.TextChoices):
        POOR = "poor", _("建档立卡/脱贫")
        MONITORED = "monitored", _("防返贫监测")
        DIBAO = "dibao", _("低保")
        TEKUN = "tekun", _("特困供养")
        DISABILITY = "disability", _("残疾")
        HARDSHIP = "hardship", _("家庭经济困难")
        ORPHAN = "orphan", _("孤儿")
        UNSUPPORTED = "unsupported", _("事实无人抚养")

    kind = models.CharField(_("名单"), max_length=12, choices=Kind)
    id_number = models.CharField(_("身份证件号"), max_length=18)
    name = models.CharField(_("姓名"), max_length=40, blank=True)
    student = models.ForeignKey(Student, null=True, blank=True, on_delete=models.PROTECT,
                                related_name="support_marks")
    # The list's 户籍乡镇 (optional column): where a child found in no school is looked for.
    township = models.ForeignKey(Township, null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="+", verbose_name=_("户籍乡镇"))
    source = models.CharField(_("来源"), max_length=120, blank=True)
    listed_on = models.DateField(_("认定日期"))
    disability_category = models.CharField(_("残疾类别"), max_length=20, blank=True)
    disability_grade = models.CharField(_("残疾等级"), max_length=10, blank=True)
    job = models.ForeignKey("kongchuo.Job", null=True, blank=True, on_delete=models.SET_NULL,
                            related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = SupportMarkQuerySet.as_manager()

    class Meta:
        verbose_name = _("帮扶名单记录")
        verbose_name_plural = _("帮扶名单记录")
        constraints = [models.UniqueConstraint(fields=["kind", "id_number"],
                                               name="support_mark_one_per_list_and_child")]
        # A child's rows across the lists (帮扶对象未入学 takes one row per child).
        indexes = [models.Index(fields=["id_number"], name="support_mark_id_number")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.name}"


class TransferRequest(models.Model):
    """An in-county transfer (转学) between two schools, asked by one side, confirmed by the other.

    `direction` says who asked: the receiving school (转入申请: the sending school, its township
    or the county confirms) or the sending school (转出登记: the receiving side confirms that
    the child arrived). While pending the child is 转学中, still on the sending school's roll;
    confirming moves the child (a 转出 history row with its destination), refusing or
    withdrawing brings back the status the child had (`status_before`). Either way the child is
    on exactly one school's roll at every moment (students.transfers).
    """

    class Direction(models.TextChoices):
        IN = "in", _("转入申请")
        OUT = "out", _("转出登记")

    class State(models.TextChoices):
        PENDING = "pending", _("待确认")
        CONFIRMED = "confirmed", _("已完成")
        REFUSED = "refused", _("已拒绝")
        WITHDRAWN = "withdrawn", _("已撤回")

    student = models.ForeignKey(Student, on_delete=models.PROTECT, related_name="transfers",
                                verbose_name=_("学生"))
    from_school = models.ForeignKey(School, on_delete=models.PROTECT, related_name="+",
                                    verbose_name=_("转出学校"))
    to_school = models.ForeignKey(School, on_delete=models.PROTECT, related_name="+",
                                  verbose_name=_("转入学校"))
    direction = models.CharField(_("发起方"), max_length=4, choices=Direction)
    state = models.CharField(_("状态"), max_length=10, choices=State, default=State.PENDING)
    status_before = models.CharField(_("申请前状态"), max_length=16, choices=Student.Status)
    grade = models.PositiveSmallIntegerField(
        _("转入年级"), validators=[MinValueValidator(1), MaxValueValidator(9)])
    class_name = models.CharField(_("转入班级"), max_length=20, blank=True)
    reason = models.CharField(_("转学原因"), max_length=200)
    requested_on = models.DateField(_("申请日期"))
    # Empty for a 转出 of the operator's status-changes import (the CLI acts as the county).
    requested_by = models.ForeignKey("students.User", null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="+", verbose_name=_("申请人"))
    requested_at = models.DateTimeField(_("申请时间"), auto_now_add=True)
    decided_by = models.ForeignKey("students.User", null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+", verbose_name=_("确认人"))
    decided_at = models.DateTimeField(_("确认时间"), null=True, blank=True)
    decision_note = models.CharField(_("意见"), max_length=200, blank=True)
    version = models.PositiveIntegerField(default=1)

    objects = TransferRequestQuerySet.as_manager()

    class Meta:
        ordering = ["-requested_at", "-id"]
        verbose_name = _("转学")
        verbose_name_plural = _("转学")
        constraints = [
            # A child is asked for by one school at a time: a second request waits.
            models.UniqueConstraint(fields=["student"], condition=Q(state="pending"),
                                    name="one_pending_transfer_per_student"),
            models.CheckConstraint(condition=~Q(from_school=models.F("to_school")),
                                   name="transfer_between_two_schools"),
        ]
        indexes = [models.Index(fields=["state", "requested_on"])]

    def __str__(self) -> str:
        return f"{self.get_direction_display()} {self.student_id}"

    @property
    def is_pending(self) -> bool:
        return self.state == self.State.PENDING


class TermRoster(models.Model):
    """A school's roster for a term was imported. The first import of the term lists the
    school's children missing from it (RosterGap); later ones of the same term only strike
    off those they contain (a roster sent in parts)."""

    term = models.CharField(_("学期"), max_length=12)
    school = models.ForeignKey(School, on_delete=models.PROTECT, related_name="+")
    first_job = models.ForeignKey("kongchuo.Job", null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="+")
    imported_at = models.DateTimeField(_("首次导入时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("学期名册")
        constraints = [models.UniqueConstraint(fields=["term", "school"],
                                               name="one_term_roster_per_school")]


class RosterGap(models.Model):
    """A child at school who was missing from the school's roster for a term: on the school's
    worklist (and, from the term's return check, a suspected dropout) unless a status change
    explains it (转出, 毕业, 休学 …: see students.selectors.roster_unexplained)."""

    term = models.CharField(_("学期"), max_length=12)
    school = models.ForeignKey(School, on_delete=models.PROTECT, related_name="+",
                               verbose_name=_("学校"))
    student = models.ForeignKey(Student, on_delete=models.PROTECT, related_name="roster_gaps")
    job = models.ForeignKey("kongchuo.Job", null=True, blank=True, on_delete=models.SET_NULL,
                            related_name="+")
    found_on = models.DateField(_("发现日期"))

    objects = RosterGapQuerySet.as_manager()

    class Meta:
        verbose_name = _("名册缺失学生")
        verbose_name_plural = _("名册缺失学生")
        constraints = [models.UniqueConstraint(fields=["student", "term"],
                                               name="one_roster_gap_per_term")]
        indexes = [models.Index(fields=["term", "school"])]
