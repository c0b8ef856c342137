"""List tables of the ledgers (django-tables2): sortable columns, IDs masked on the server."""

from __future__ import annotations

import django_tables2 as tables
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from kongchuo.access.idnumbers import mask_id
from kongchuo.calendar.schoolyear import parse_term
from kongchuo.calendar.schoolyear import today as today_
from ledgers.selectors import MIN_VISITS_PER_MONTH, deferral_expiry


def _detail(slug: str):
    return lambda record: reverse("ledgers:detail", args=[slug, record.pk])


def _user_name(user) -> str:
    if user is None:
        return "—"
    return user.get_full_name() or user.username


class LedgerTable(tables.Table):
    created_by = tables.Column(verbose_name=_("填报人"), order_by="created_by__username")

    class Meta:
        attrs = {"class": "table table-sm table-hover align-middle ledger-table"}
        per_page = 20
        empty_text = _("暂无记录")

    def render_created_by(self, value):
        return _user_name(value)


def student_columns(slug: str, prefix: str = "student") -> dict:
    return {
        "name": tables.Column(verbose_name=_("姓名"), accessor=f"{prefix}__name",
                              linkify=_detail(slug), order_by=f"{prefix}__name_initials"),
        "id_number": tables.Column(verbose_name=_("身份证件号"), accessor=f"{prefix}__id_number",
                                   orderable=False),
        "school": tables.Column(verbose_name=_("学校"), accessor=f"{prefix}__school__name",
                                order_by=f"{prefix}__school__code"),
        "grade": tables.Column(verbose_name=_("年级"), accessor=f"{prefix}__grade"),
        "class_name": tables.Column(verbose_name=_("班级"), accessor=f"{prefix}__class_name"),
    }


class StudentLedgerTable(LedgerTable):
    def render_id_number(self, value):
        return mask_id(value)


def _table(name: str, slug: str, extra: dict, sequence: list[str], base=StudentLedgerTable,
           with_student: bool = True):
    attrs = dict(student_columns(slug)) if with_student else {}
    attrs.update(extra)
    meta = type("Meta", (base.Meta,), {"sequence": [*sequence, "created_by"]})
    attrs["Meta"] = meta
    return type(name, (base,), attrs)


STUDENT = ["name", "id_number", "school", "grade", "class_name"]


class _StatusChangeBase(StudentLedgerTable):
    def render_destination(self, record):
        if record.to_school_id:
            return record.to_school.name
        return f"{record.to_county} {record.to_school_name}".strip() or "—"


StatusChangeTable = _table("StatusChangeTable", "status_changes", {
    "kind": tables.Column(verbose_name=_("变动类型")),
    "effective_date": tables.DateColumn(verbose_name=_("变动日期"), format="Y-m-d"),
    "end_date": tables.DateColumn(verbose_name=_("截止日期"), format="Y-m-d"),
    "destination": tables.Column(verbose_name=_("去向"), empty_values=(), orderable=False),
    "reason": tables.Column(verbose_name=_("原因")),
    "approved_by": tables.Column(verbose_name=_("审批人")),
}, [*STUDENT, "kind", "effective_date", "end_date", "destination", "reason", "approved_by"],
    base=_StatusChangeBase)


class _ReturnBase(StudentLedgerTable):
    def render_term(self, value):
        try:
            return parse_term(value).label
        except ValueError:
            return value


ReturnTable = _table("ReturnTable", "returns", {
    "term": tables.Column(verbose_name=_("学期")),
    "reported_on": tables.DateColumn(verbose_name=_("报到日期"), format="Y-m-d"),
    "note": tables.Column(verbose_name=_("备注")),
}, [*STUDENT, "term", "reported_on", "note"], base=_ReturnBase)

VocationalTable = _table("VocationalTable", "vocational", {
    "school_name": tables.Column(verbose_name=_("中职学校")),
    "major": tables.Column(verbose_name=_("专业")),
    "start_date": tables.DateColumn(verbose_name=_("就读日期"), format="Y-m-d"),
    "proof": tables.Column(verbose_name=_("证明材料")),
}, [*STUDENT, "school_name", "major", "start_date", "proof"])

OutOfCountyTable = _table("OutOfCountyTable", "out_of_county", {
    "county": tables.Column(verbose_name=_("就读县区")),
    "school_name": tables.Column(verbose_name=_("就读学校")),
    "study_grade": tables.Column(verbose_name=_("就读年级"), accessor="grade"),
    "start_date": tables.DateColumn(verbose_name=_("就读日期"), format="Y-m-d"),
    "proof": tables.Column(verbose_name=_("在读证明")),
    "verified_by": tables.Column(verbose_name=_("核实人")),
    "verified_on": tables.DateColumn(verbose_name=_("核实日期"), format="Y-m-d"),
}, [*STUDENT, "county", "school_name", "study_grade", "start_date", "proof", "verified_by",
    "verified_on"])


class DeferralTable(LedgerTable):
    name = tables.Column(verbose_name=_("姓名"), linkify=_detail("deferrals"))
    id_number = tables.Column(verbose_name=_("身份证件号"), orderable=False)
    school = tables.Column(verbose_name=_("申请学校"), accessor="school__name", order_by="school__code")
    birth_date = tables.DateColumn(verbose_name=_("出生日期"), format="Y-m-d")
    reason = tables.Column(verbose_name=_("申请原因"))
    start_date = tables.DateColumn(verbose_name=_("起始日期"), format="Y-m-d")
    end_date = tables.DateColumn(verbose_name=_("截止日期"), format="Y-m-d")
    review = tables.Column(verbose_name=_("审核状态"))

    class Meta(LedgerTable.Meta):
        sequence = ["name", "id_number", "school", "birth_date", "reason", "start_date", "end_date",
                    "review", "created_by"]

    def render_id_number(self, value):
        return mask_id(value)

    def render_review(self, record):
        tone = {"pending": "warning", "approved": "success", "rejected": "secondary"}[record.review]
        badge = format_html('<span class="badge text-bg-{}">{}</span>', tone, record.get_review_display())
        expiry = deferral_expiry(record, today_())
        if expiry == "expiring":
            return format_html('{} <span class="badge text-bg-danger">{}</span>', badge, _("即将到期"))
        if expiry == "expired":
            return format_html('{} <span class="badge text-bg-dark">{}</span>', badge, _("已到期"))
        return badge


class _HomeTeachingBase(StudentLedgerTable):
    def render_disability(self, record):
        return f"{record.disability_category} {record.disability_grade}".strip()

    def render_month_visits(self, record):
        tone = "danger" if record.month_visits < MIN_VISITS_PER_MONTH else "success"
        return format_html('<span class="badge text-bg-{}">{} / {}</span>', tone,
                           record.month_visits, MIN_VISITS_PER_MONTH)

    def render_manual(self, record):
        return format_html('<a href="{}">{}</a>', reverse("ledgers:manual", args=[record.pk]),
                           _("工作手册"))


HomeTeachingTable = _table("HomeTeachingTable", "home_teaching", {
    "disability": tables.Column(verbose_name=_("残疾类别/等级"), accessor="disability_category"),
    "teachers": tables.Column(verbose_name=_("送教教师")),
    "start_date": tables.DateColumn(verbose_name=_("开始日期"), format="Y-m-d"),
    "month_visits": tables.Column(verbose_name=_("本月送教次数")),
    "manual": tables.Column(verbose_name=_("手册"), empty_values=(), orderable=False),
}, [*STUDENT, "disability", "teachers", "start_date", "month_visits", "manual"],
    base=_HomeTeachingBase)


class _LearningBase(StudentLedgerTable):
    def render_active(self, value):
        return _("帮扶中") if value else _("已结束")


LearningSupportTable = _table("LearningSupportTable", "learning_support", {
    "teacher": tables.Column(verbose_name=_("责任教师")),
    "difficulty": tables.Column(verbose_name=_("学困表现")),
    "start_date": tables.DateColumn(verbose_name=_("开始日期"), format="Y-m-d"),
    "n_notes": tables.Column(verbose_name=_("帮扶记录")),
    "active": tables.Column(verbose_name=_("状态")),
}, [*STUDENT, "teacher", "difficulty", "start_date", "n_notes", "active"], base=_LearningBase)


class _AidBase(_ReturnBase):
    def render_flags(self, record):
        student = record.student
        labels = [gettext(label) for flag, label in (("is_poor", "建档"), ("is_monitored", "监测"),
                                                     ("is_dibao", "低保"), ("is_tekun", "特困"))
                  if getattr(student, flag)]
        return " ".join(labels) or "—"


AidTable = _table("AidTable", "aid", {
    "flags": tables.Column(verbose_name=_("困难类型"), empty_values=(), orderable=False),
    "term": tables.Column(verbose_name=_("学期")),
    "kind": tables.Column(verbose_name=_("资助类型")),
    "amount": tables.Column(verbose_name=_("金额（元）"), attrs={"td": {"class": "text-end"}}),
    "granted_on": tables.DateColumn(verbose_name=_("发放日期"), format="Y-m-d"),
    "source": tables.Column(verbose_name=_("资金来源")),
}, [*STUDENT, "flags", "term", "kind", "amount", "granted_on", "source"], base=_AidBase)


class FamilyContactTable(LedgerTable):
    contact_date = tables.DateColumn(verbose_name=_("日期"), format="Y-m-d",
                                     linkify=_detail("family_contact"))
    kind = tables.Column(verbose_name=_("方式"))
    school = tables.Column(verbose_name=_("学校"), accessor="school__name", order_by="school__code")
    target = tables.Column(verbose_name=_("对象"), empty_values=(), orderable=False)
    staff = tables.Column(verbose_name=_("参与教师"))
    content = tables.Column(verbose_name=_("内容"))
    outcome = tables.Column(verbose_name=_("效果"))

    class Meta(LedgerTable.Meta):
        sequence = ["contact_date", "kind", "school", "target", "staff", "content", "outcome",
                    "created_by"]

    def render_target(self, record):
        if record.student_id:
            return record.student.name
        return record.class_name or _("全校")

    def render_content(self, value):
        return value if len(value) <= 30 else value[:30] + "…"


class _AbsenceBase(StudentLedgerTable):
    def render_explained(self, value):
        return _("是") if value else _("否")

    def render_at_risk(self, record):
        if record.at_risk:
            return format_html('<span class="badge text-bg-danger">{}</span>', _("辍学风险"))
        return "—"


AbsenceTable = _table("AbsenceTable", "absences", {
    "start_date": tables.DateColumn(verbose_name=_("缺课开始"), format="Y-m-d"),
    "end_date": tables.DateColumn(verbose_name=_("缺课结束"), format="Y-m-d"),
    "school_days": tables.Column(verbose_name=_("教学日")),
    "explained": tables.Column(verbose_name=_("已说明原因")),
    "at_risk": tables.Column(verbose_name=_("风险")),
    "reason_found": tables.Column(verbose_name=_("查明原因")),
}, [*STUDENT, "start_date", "end_date", "school_days", "explained", "at_risk", "reason_found"],
    base=_AbsenceBase)


class PublicityTable(LedgerTable):
    activity_date = tables.DateColumn(verbose_name=_("日期"), format="Y-m-d",
                                      linkify=_detail("publicity"))
    kind = tables.Column(verbose_name=_("形式"))
    school = tables.Column(verbose_name=_("学校"), accessor="school__name", order_by="school__code")
    audience = tables.Column(verbose_name=_("对象"))
    participants = tables.Column(verbose_name=_("参与人数"), attrs={"td": {"class": "text-end"}})
    description = tables.Column(verbose_name=_("内容"))

    class Meta(LedgerTable.Meta):
        sequence = ["activity_date", "kind", "school", "audience", "participants", "description",
                    "created_by"]

    def render_description(self, value):
        return value if len(value) <= 40 else value[:40] + "…"


TABLES = {
    "status_changes": StatusChangeTable,
    "returns": ReturnTable,
    "vocational": VocationalTable,
    "out_of_county": OutOfCountyTable,
    "deferrals": DeferralTable,
    "home_teaching": HomeTeachingTable,
    "learning_support": LearningSupportTable,
    "aid": AidTable,
    "family_contact": FamilyContactTable,
    "absences": AbsenceTable,
    "publicity": PublicityTable,
}
