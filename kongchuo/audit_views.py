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

from kongchuo.models import AuditEvent
from kongchuo.scoping import Role, require_role

ACTION_LABELS = {
    "login": _("登录"), "logout": _("退出"), "login_failed": _("登录失败"), "lockout": _("账号锁定"),
    "forbidden": _("越权访问(403)"), "csrf_failure": _("CSRF校验失败"), "reveal_id": _("查看完整证件号/电话"),
    "export": _("导出"), "import": _("导入"), "sweep_run": _("排查运行"), "otp_setup": _("绑定动态口令"),
    "otp_verify": _("动态口令验证"), "otp_failed": _("动态口令错误"), "user_create": _("新建用户"),
    "user_deactivate": _("停用用户"), "account_create": _("新建账号"), "account_update": _("修改账号"),
    "account_deactivate": _("停用账号"), "account_activate": _("启用账号"),
    "account_password_reset": _("重置密码"), "account_otp_reset": _("解除动态口令绑定"),
    "account_unlock": _("解除登录锁定"), "account_import": _("批量创建账号"),
    "password_change": _("修改密码"), "import_output_download": _("下载初始密码表"),
}
OUTCOMES = [("ok", _("成功")), ("failed", _("失败")), ("denied", _("拒绝")), ("locked", _("锁定"))]


def _action_choices():
    known = set(AuditEvent.objects.order_by().values_list("action", flat=True).distinct())
    known |= set(ACTION_LABELS)
    return [(a, f"{ACTION_LABELS[a]} ({a})" if a in ACTION_LABELS else a) for a in sorted(known)]


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
    username = tables.Column(verbose_name=_("用户"), default="—")
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
        label = ACTION_LABELS.get(value)
        return f"{label}" if label else value

    def render_target(self, record):
        if not record.object_type:
            return "—"
        return f"{record.object_type}#{record.object_id} {record.object_repr}".strip()

    def render_detail(self, value):
        if not value:
            return ""
        return "；".join(f"{k}: {v}" for k, v in value.items())[:300]


@login_required
@require_GET
def audit_list(request):
    require_role(request.user, Role.COUNTY)
    flt = AuditFilter(request.GET or None, queryset=AuditEvent.objects.all())
    qs = flt.qs if flt.is_bound and flt.is_valid() else AuditEvent.objects.all()
    table = AuditTable(qs.order_by("-at", "-id"))
    RequestConfig(request, paginate={"per_page": 50}).configure(table)
    return render(request, "audit/audit_list.html", {"filter": flt, "table": table})
