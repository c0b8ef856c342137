"""The case list (django-tables2). IDs are masked."""

from __future__ import annotations

import django_tables2 as tables
from django.utils.translation import gettext_lazy as _

from retrieval.models import RetrievalCase
from retrieval.web import badge

CASE_TONE = {"open": "warning", "escalated": "danger", "closure_requested": "info", "closed": "success"}


class CaseTable(tables.Table):
    name = tables.LinkColumn("retrieval:case", args=[tables.A("pk")], verbose_name=_("姓名"))
    id_number = tables.Column(verbose_name=_("身份证件号"), orderable=False)
    school = tables.Column(accessor="school__name", verbose_name=_("学校"), order_by="school__code",
                           default="—")
    grade = tables.Column(verbose_name=_("年级"), default="—")
    reason = tables.Column(verbose_name=_("辍学原因"))
    status = tables.Column(verbose_name=_("状态"))
    placement = tables.Column(verbose_name=_("安置"), default="—")
    opened_at = tables.DateTimeColumn(verbose_name=_("立案时间"), format="Y-m-d")
    closure_category = tables.Column(verbose_name=_("销号类别"), default="—")

    class Meta:
        model = RetrievalCase
        fields = ["name", "id_number", "school", "grade", "reason", "status", "placement",
                  "opened_at", "closure_category"]
        attrs = {"class": "table table-sm table-hover align-middle"}
        per_page = 20
        empty_text = _("没有符合条件的案件")

    def render_id_number(self, record):
        return record.id_masked

    def render_status(self, record):
        return badge(CASE_TONE.get(record.status, "light"), record.get_status_display())
