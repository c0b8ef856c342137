"""The alert list (django-tables2). IDs are masked."""

from __future__ import annotations

import django_tables2 as tables
from django.utils.translation import gettext_lazy as _

from retrieval.models import Alert
from retrieval.web import badge
from retrieval.wording import alert_id_masked, alert_label, alert_period

ALERT_TONE = {"open": "warning", "confirmed": "danger", "dismissed": "secondary", "resolved": "success"}


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
        return badge(ALERT_TONE.get(record.status, "light"), record.get_status_display())
