from __future__ import annotations

import django_tables2 as tables
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from students.models import Student


class StudentTable(tables.Table):
    # Every sort ends with the primary key: rows with equal values (two 张伟, 20,000 pupils of
    # grade 3) otherwise come back in any order, and paging repeats some rows and skips others.
    name = tables.LinkColumn("students:detail", args=[tables.A("pk")], verbose_name=_("姓名"),
                             order_by=("name", "pk"))
    id_number = tables.Column(verbose_name=_("身份证件号"), orderable=False)
    school = tables.Column(accessor="school__name", verbose_name=_("学校"), order_by=("school__code", "pk"))
    grade = tables.Column(verbose_name=_("年级"), order_by=("grade", "pk"))
    class_name = tables.Column(verbose_name=_("班级"), order_by=("class_name", "pk"))
    sex = tables.Column(verbose_name=_("性别"), order_by=("sex", "pk"))
    status = tables.Column(verbose_name=_("状态"), order_by=("status", "pk"))
    flags = tables.Column(verbose_name=_("标识"), empty_values=(), orderable=False)

    # The columns the list reads (with select_related("school")): `.only()` keeps the wide
    # personal-data columns (addresses, guardians) out of the query and out of memory.
    FIELDS = ("id", "name", "id_number", "sex", "school_id", "school__name", "grade", "class_name",
              "status", "is_poor", "is_dibao", "is_tekun", "disability_category", "is_left_behind")

    class Meta:
        model = Student
        fields = ["name", "id_number", "sex", "school", "grade", "class_name", "status", "flags"]
        attrs = {"class": "table table-sm table-hover align-middle"}
        per_page = 20
        empty_text = _("没有符合条件的学生")

    def render_id_number(self, record):
        return record.id_masked

    def render_status(self, record):
        tone = "success" if record.status == Student.Status.ENROLLED else "warning"
        return format_html('<span class="badge text-bg-{}">{}</span>', tone, record.get_status_display())

    def render_flags(self, record):
        labels = []
        if record.is_poor:
            labels.append(gettext("建档"))
        if record.is_dibao:
            labels.append(gettext("低保"))
        if record.is_tekun:
            labels.append(gettext("特困"))
        if record.disability_category:
            labels.append(gettext("残疾"))
        if record.is_left_behind:
            labels.append(gettext("留守"))
        return " ".join(labels) or "—"

    def cell_rows(self):
        """The page's rows as lists of (column header, cell) in column order, for
        students/_student_table.html (the header labels the cell when rows stack on phones).

        The same cells django-tables2 renders, computed directly: its per-cell machinery
        (accessor resolution, signature inspection, attrs, a translation lookup per cell) is paid
        for every cell of every roster page (figures: docs/performance.md). Empty values get the table's
        default, as django-tables2 does; a column without a renderer here falls back to it.
        """
        cells = {
            "name": lambda r: format_html('<a href="{}">{}</a>',
                                          reverse("students:detail", args=[r.pk]), r.name),
            "id_number": self.render_id_number,
            "sex": lambda r: r.get_sex_display(),
            "school": lambda r: r.school.name,
            "grade": lambda r: r.grade,
            "class_name": lambda r: r.class_name,
            "status": self.render_status,
            "flags": self.render_flags,
        }
        columns = [(column.name, column.header) for column in self.columns]
        for row in self.paginated_rows:
            record = row.record
            out = []
            for name, header in columns:
                if name not in cells:
                    out.append((header, row.get_cell(name)))
                    continue
                value = cells[name](record)
                out.append((header, self.default if value in (None, "") else value))
            yield out


class SchoolTable(tables.Table):
    """学校与责任人; 在读学生 from one cached count per school (students.counts)."""

    township = tables.LinkColumn("students:township", args=[tables.A("township_id")],
                                 accessor="township__name", verbose_name=_("乡镇"),
                                 order_by=("township__code", "-is_center", "code"))
    name = tables.Column(verbose_name=_("学校名称"), order_by=("name", "pk"))
    code = tables.Column(verbose_name=_("学校标识码"))
    kind = tables.Column(verbose_name=_("类型"), order_by=("kind", "pk"))
    oversight = tables.Column(verbose_name=_("管理层级"), order_by=("oversight", "pk"))
    principal_name = tables.Column(verbose_name=_("校长（第一责任人）"), default="—")
    clerk_name = tables.Column(verbose_name=_("控辍保学专干"), default="—")
    n_students = tables.Column(verbose_name=_("在读学生"), empty_values=(), orderable=False,
                               attrs={"td": {"class": "text-end"}, "th": {"class": "text-end"}})

    class Meta:
        attrs = {"class": "table table-sm table-hover align-middle"}
        per_page = 30
        empty_text = _("没有符合条件的学校")

    def __init__(self, *args, counts: dict, **kwargs):
        super().__init__(*args, **kwargs)
        self.counts = counts

    def render_name(self, record, value):
        url = reverse("students:school", args=[record.pk])
        if record.is_center:
            return format_html('<a href="{}">{}</a> <span class="badge text-bg-primary">{}</span>',
                               url, value, _("中心校"))
        return format_html('<a href="{}">{}</a>', url, value)

    def render_kind(self, record):
        return record.get_kind_display()

    def render_oversight(self, record):
        return record.get_oversight_display()

    def render_n_students(self, record):
        return self.counts.get(record.pk, 0)
