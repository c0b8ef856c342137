"""The drill-down lists: one table (and one export layout) per source of figures.

Each `Listing` names its columns once; the page table and the xlsx export are both built from
it, so what a user sees and what they download are the same rows and the same columns. ID
numbers are masked in both.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import django_tables2 as tables
from django.db.models import OuterRef, QuerySet, Subquery
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from kongchuo.access.idnumbers import mask_id, mask_ids_in_value
from retrieval.wording import alert_period
from students.models import Student


def _url(name: str, pk) -> str:
    try:
        return reverse(name, args=[pk])
    except NoReverseMatch:
        return ""


def _dt(value) -> str:
    if value is None:
        return ""
    if hasattr(value, "hour"):
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M")
    return value.isoformat()


def _flags(s: Student) -> str:
    flags = ((s.is_poor, _("建档")), (s.is_monitored, _("监测")), (s.is_dibao, _("低保")),
             (s.is_tekun, _("特困")), (bool(s.disability_category), _("残疾")))
    return " ".join(str(label) for on, label in flags if on)


@dataclass(frozen=True)
class Col:
    key: str
    label: str
    value: Callable  # row -> plain value (export and default cell text)
    link: Callable | None = None  # row -> url (page only)
    text: bool = False  # export as text (codes)


def _school_or_township(row) -> str:
    if getattr(row, "school_id", None):
        return row.school.name
    if getattr(row, "township_id", None):
        return str(_("%(name)s（乡镇）") % {"name": row.township.name})
    return str(_("县级"))


LISTINGS: dict[str, dict] = {
    "students": {
        "related": ("school",),
        # school_id, not school__code: the (school, grade, class_name) index serves the first
        # page of a 200,000-row list without sorting the county.
        "order": ("school_id", "grade", "class_name", "name", "pk"),
        "cols": [
            Col("name", _("姓名"), lambda s: s.name, lambda s: _url("students:detail", s.pk)),
            Col("id", _("身份证件号"), lambda s: mask_id(s.id_number), text=True),
            Col("sex", _("性别"), lambda s: s.get_sex_display()),
            Col("school", _("学校"), lambda s: s.school.name),
            Col("grade", _("年级"), lambda s: s.grade),
            Col("class", _("班级"), lambda s: s.class_name),
            Col("status", _("状态"), lambda s: s.get_status_display()),
            Col("flags", _("帮扶标识"), _flags),
        ],
    },
    "census": {
        "related": ("township",),
        "order": ("township_id", "birth_date", "name", "pk"),
        "annotate": lambda qs: qs.annotate(student_status=Subquery(
            Student.objects.filter(id_number=OuterRef("id_number")).order_by().values("status")[:1])),
        "cols": [
            Col("name", _("姓名"), lambda c: c.name),
            Col("id", _("身份证件号"), lambda c: mask_id(c.id_number), text=True),
            Col("sex", _("性别"), lambda c: c.get_sex_display()),
            Col("birth", _("出生日期"), lambda c: c.birth_date.isoformat()),
            Col("township", _("户籍乡镇"), lambda c: c.township.name),
            Col("address", _("户籍地址"), lambda c: c.address),
            Col("status", _("学籍状态"),
                lambda c: str(Student.Status(c.student_status).label) if c.student_status else str(_("无学籍"))),
        ],
    },
    "alerts": {
        "related": ("school", "township"),
        "order": ("-raised_at", "pk"),
        "cols": [
            Col("rule", _("规则"), lambda a: a.get_rule_display()),
            Col("name", _("姓名/对象"), lambda a: a.name or a.subject if not a.student_id else a.name,
                lambda a: _url("retrieval:alert", a.pk)),
            Col("unit", _("学校/乡镇"), _school_or_township),
            Col("period", _("周期"), alert_period),
            Col("status", _("状态"), lambda a: a.get_status_display()),
            Col("level", _("处理层级"), lambda a: a.get_level_display()),
            Col("raised", _("预警时间"), lambda a: _dt(a.raised_at)),
            Col("due", _("办理期限"), lambda a: _dt(a.due_date)),
            Col("closed", _("办结时间"), lambda a: _dt(a.closed_at)),
        ],
    },
    "cases": {
        "related": ("school", "township"),
        "order": ("-opened_at", "pk"),
        "cols": [
            Col("name", _("姓名"), lambda c: c.name, lambda c: _url("retrieval:case", c.pk)),
            Col("id", _("身份证件号"), lambda c: mask_id(c.id_number), text=True),
            Col("unit", _("学校/乡镇"), _school_or_township),
            Col("grade", _("年级"), lambda c: c.grade or ""),
            Col("reason", _("辍学原因"), lambda c: c.get_reason_display()),
            Col("status", _("状态"), lambda c: c.get_status_display()),
            Col("opened", _("立案时间"), lambda c: _dt(c.opened_at)),
            Col("closed", _("销号时间"), lambda c: _dt(c.closed_at)),
            Col("closure", _("销号类别"), lambda c: c.get_closure_category_display()),
        ],
    },
    "deferrals": {
        "related": ("school",),
        "order": ("end_date", "pk"),
        "cols": [
            Col("name", _("姓名"), lambda d: d.name, lambda d: _url_ledger("deferrals", d.pk)),
            Col("id", _("身份证件号"), lambda d: mask_id(d.id_number), text=True),
            Col("school", _("学校"), lambda d: d.school.name),
            Col("reason", _("申请原因"), lambda d: d.reason),
            Col("start", _("延缓起始日期"), lambda d: _dt(d.start_date)),
            Col("end", _("延缓截止日期"), lambda d: _dt(d.end_date)),
            Col("review", _("审核状态"), lambda d: d.get_review_display()),
        ],
    },
    "feedback": {
        "related": ("school", "township", "batch"),
        "order": ("due_date", "batch_id", "row"),
        "cols": [
            Col("batch", _("反馈名单"), lambda f: f.batch.title),
            Col("name", _("姓名"), lambda f: f.name, lambda f: _url("retrieval:feedback_item", f.pk)),
            Col("id", _("身份证件号"), lambda f: mask_id(f.id_number), text=True),
            Col("unit", _("学校/乡镇"), _school_or_township),
            Col("problem", _("问题类型"), lambda f: f.problem),
            Col("due", _("核查期限"), lambda f: _dt(f.due_date)),
            Col("result", _("核查结果"), lambda f: f.get_result_display() or str(_("未核查"))),
        ],
    },
    "intake": {
        "related": ("school", "school__township"),
        "order": ("school__township__code", "school__code"),
        "cols": [
            Col("school", _("学校"), lambda i: i.school.name),
            Col("township", _("乡镇"), lambda i: i.school.township.name),
            Col("year", _("入学年份"), lambda i: i.year),
            Col("count", _("一年级入学人数"), lambda i: i.grade1_count),
            Col("in", _("系统外转入"), lambda i: i.transfers_in),
            Col("out", _("系统外转出"), lambda i: i.transfers_out),
            Col("deaths", _("系统外死亡"), lambda i: i.deaths),
            Col("abroad", _("系统外出国"), lambda i: i.abroad),
            Col("note", _("备注"), lambda i: i.note),
        ],
    },
    "schools": {
        "related": ("township",),
        "order": ("township__code", "-is_center", "code"),
        "cols": [
            Col("name", _("学校名称"), lambda s: s.name, lambda s: _url("students:school", s.pk)),
            Col("code", _("学校标识码"), lambda s: s.code, text=True),
            Col("township", _("乡镇"), lambda s: s.township.name),
            Col("kind", _("学校类型"), lambda s: s.get_kind_display()),
            Col("oversight", _("管理层级"), lambda s: s.get_oversight_display()),
        ],
    },
}


def _url_ledger(slug: str, pk) -> str:
    try:
        return reverse("ledgers:detail", args=[slug, pk])
    except NoReverseMatch:
        return ""


def listing_rows(source: str, qs: QuerySet) -> QuerySet:
    spec = LISTINGS[source]
    qs = qs.select_related(*spec["related"]).order_by(*spec["order"])
    if "annotate" in spec:
        qs = spec["annotate"](qs)
    return qs


class _ColumnFromSpec(tables.Column):
    def __init__(self, col: Col):
        self.col = col
        super().__init__(verbose_name=col.label, empty_values=(), orderable=False)

    def render(self, record):
        value = mask_ids_in_value(self.col.value(record))  # addresses, reasons, notes: by shape
        if value in (None, ""):
            return "—"
        url = self.col.link(record) if self.col.link else ""
        if url:
            return format_html('<a href="{}">{}</a>', url, value)
        return value


def table_for(source: str, qs: QuerySet) -> tables.Table:
    cols = LISTINGS[source]["cols"]
    attrs = {c.key: _ColumnFromSpec(c) for c in cols}
    meta = type("Meta", (), {"attrs": {"class": "table table-sm table-hover align-middle"},
                             "empty_text": _("没有符合条件的记录"), "orderable": False})
    table_class = type(f"{source.title()}DrillTable", (tables.Table,), {**attrs, "Meta": meta})
    return table_class(qs)


def export_headers(source: str) -> list[str]:
    return [str(c.label) for c in LISTINGS[source]["cols"]]


def export_values(source: str, row) -> list:
    """One export row; an ID typed into a free-text column (an address, a reason, a note) is
    masked by shape like the ID column (issue 15)."""
    return [mask_ids_in_value(c.value(row)) for c in LISTINGS[source]["cols"]]


def export_text_columns(source: str) -> list[int]:
    return [i for i, c in enumerate(LISTINGS[source]["cols"]) if c.text]
