from __future__ import annotations

import django_tables2 as tables
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from students.models import Student


class StudentTable(tables.Table):
    name = tables.LinkColumn("students:detail", args=[tables.A("pk")], verbose_name=_("姓名"))
    id_number = tables.Column(verbose_name=_("身份证件号"), orderable=False)
    school = tables.Column(accessor="school__name", verbose_name=_("学校"), order_by="school__code")
    grade = tables.Column(verbose_name=_("年级"))
    class_name = tables.Column(verbose_name=_("班级"))
    sex = tables.Column(verbose_name=_("性别"))
    status = tables.Column(verbose_name=_("状态"))
    flags = tables.Column(verbose_name=_("标识"), empty_values=(), orderable=False)

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
            labels.append("建档")
        if record.is_dibao:
            labels.append("低保")
        if record.is_tekun:
            labels.append("特困")
        if record.disability_category:
            labels.append("残疾")
        if record.is_left_behind:
            labels.append("留守")
        return " ".join(labels) or "—"
