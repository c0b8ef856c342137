"""Tables of the alert inbox and the case list (django-tables2). IDs are masked."""

from __future__ import annotations

import django_tables2 as tables
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from retrieval.cases import RetrievalCase
from retrieval.models import Alert
from retrieval.selectors import alert_id_masked, alert_label
from retrieval.wording import alert_period

ALERT_TONE = {"open": "warning", "confirmed": "danger", "dismissed": "secondary", "resolved": "success"}
CASE_TONE = {"open": "warning", "escalated": "danger", "closure_requested": "info", "closed": "success"}


def _badge(tone: str, text) -> str:
    return format_html('<span class="badge text-bg-{}">{}</span>', tone, text)


class AlertTable(tables.Table):
    name = tables.LinkColumn("retrieval:alert", args=[tables.A("pk")], verbose_name=_("姓名/对象"),
                             empty_values=())
    subject = tables.Column(verbose_name=_("身份证件号"), orderable=False)
    rule = tables.Column(verbose_name=_("规则"))
    period = tables.Column(verbose_name=_("周期"))
    school = tables.Column(accessor="school__name", verbose_name=_("学校"), order_by="school__code",
                           default="—")
    level = tables.Column(verbose_name=_("处理层级"))
    status = tables.Column(verbose_name=_("状态"))
    raised_at = tables.DateTimeColumn(verbose_name=_("预警时间"), format="Y-m-d")
    due_date = tables.DateColumn(verbose_name=_("办理期限"), format="Y-m-d", default="—")

    class Meta:
        model = Alert
        fields = ["name", "subject", "rule", "period", "school", "level", "status", "raised_at",
                  "due_date"]
        attrs = {"class": "table table-sm table-hover align-middle"}
        per_page = 20
        empty_text = _("没有符合条件的预警")

    def render_name(self, record):
        return alert_label(record)

    def render_period(self, record):
        return alert_period(record)

    def render_subject(self, record):
        return alert_id_masked(record)

    def render_status(self, record):
        return _badge(ALERT_TONE.get(record.status, "light"), record.get_status_display())


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
        return _badge(CASE_TONE.get(record.status, "light"), record.get_status_display())
