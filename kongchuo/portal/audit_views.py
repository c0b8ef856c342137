"""The audit page: county staff browse and filter the append-only audit log (read-only)."""

from __future__ import annotations

import django_filters
import django_tables2 as tables
from django import forms
from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET
from django_tables2 import RequestConfig

from kongchuo.access.models import AuditEvent
from kongchuo.access.scoping import Role, require_role
from kongchuo.portal import audit_wording as wording

OUTCOMES = [(k, v) for k, v in wording.OUTCOMES.items()]


def _action_choices():
    known = set(AuditEvent.objects.order_by().values_list("action", flat=True).distinct())
    known |= set(wording.ACTIONS)
    return sorted(((a, wording.action_label(a)) for a in known), key=lambda c: c[1])


class AuditFilter(django_filters.FilterSet):
    user = django_filters.CharFilter(label=_("用户名"), field_name="username", lookup_expr="icontains")
    action = django_filters.ChoiceFilter(label=_("操作"), choices=_action_choices)
    outcome = django_filters.ChoiceFilter(label=_("结果"), choices=OUTCOMES)
    since = django_filters.DateFilter(label=_("起始日期"), field_name="at", lookup_expr="date__gte",
                                      widget=forms.DateInput(attrs={"type": "date"}))
    until = django_filters.DateFilter(label=_("截止日期"), field_name="at", lookup_expr="date__lte",
                                      widget=forms.DateInput(attrs={"type": "date"}))

    class Meta:
        model = AuditEvent
        fields = ["user", "action", "outcome", "since", "until"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for f in self.form.fields.values():
            css = "form-select form-select-sm" if isinstance(f.widget, forms.Select) else "form-control form-control-sm"
            f.widget.attrs["class"] = css


class AuditTable(tables.Table):
    at = tables.DateTimeColumn(verbose_name=_("时间"), format="Y-m-d H:i:s")
    username = tables.Column(verbose_name=_("用户"), default="—", attrs={"td": {"translate": "no"}})
    ip = tables.Column(verbose_name=_("IP"), default="—")
    action = tables.Column(verbose_name=_("操作"))
    target = tables.Column(verbose_name=_("对象"), empty_values=(), orderable=False)
    outcome = tables.Column(verbose_name=_("结果"))
    detail = tables.Column(verbose_name=_("详情"), orderable=False, default="")

    class Meta:
        model = AuditEvent
        fields = ["at", "username", "ip", "action", "target", "outcome", "detail"]
        attrs = {"class": "table table-sm table-hover align-middle"}
        per_page = 50
        empty_text = _("没有符合条件的审计记录")

    def render_action(self, value):
        return wording.action_label(value)

    def render_outcome(self, value):
        return wording.outcome_label(value)

    def render_target(self, record):
        if not record.object_type:
            return "—"
        return f"{wording.object_label(record.object_type)} {record.object_repr}".strip()

    def render_detail(self, value):
        return wording.detail_text(value)[:300] if value else ""


@login_required
@require_GET
def audit_list(request):
    require_role(request.user, Role.COUNTY)
    flt = AuditFilter(request.GET or None, queryset=AuditEvent.objects.all())
    qs = flt.qs if flt.is_bound and flt.is_valid() else AuditEvent.objects.all()
    table = AuditTable(qs.order_by("-at", "-id"))
    RequestConfig(request, paginate={"per_page": 50}).configure(table)
    return render(request, "audit/audit_list.html", {"filter": flt, "table": table})
