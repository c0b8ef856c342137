"""List filters of the alert inbox and the case list (django-filter, labelled in Chinese)."""

from __future__ import annotations

import django_filters
from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from kongchuo.access.scoping import scope_of
from kongchuo.calendar.schoolyear import period_code
from retrieval.cases import RetrievalCase
from retrieval.models import Alert, Level
from students.models import School
from students.support import group_choices, in_group_or_listed


def _style(filterset) -> None:
    for f in filterset.form.fields.values():
        css = ("form-select form-select-sm" if isinstance(f.widget, forms.Select)
               else "form-control form-control-sm")
        f.widget.attrs["class"] = css


def _search(queryset, name, value):
    value = (value or "").strip()
    if not value:
        return queryset
    if value.isdigit() or value[-1:].upper() == "X":
        if len(value) <= 4:
            return queryset.filter(**{f"{name}__endswith": value.upper()})
        return queryset.filter(**{name: value.upper()})
    return queryset.filter(name__contains=value)


class AlertFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(label=_("姓名/证件后4位"), method="filter_q")
    rule = django_filters.ChoiceFilter(label=_("规则"), choices=Alert.Rule.choices)
    status = django_filters.ChoiceFilter(label=_("状态"), choices=Alert.Status.choices)
    level = django_filters.ChoiceFilter(label=_("处理层级"), choices=Level.choices[:3])
    school = django_filters.ModelChoiceFilter(label=_("学校"), queryset=School.objects.none())
    period = django_filters.CharFilter(label=_("周期"), method="filter_period")
    support = django_filters.ChoiceFilter(label=_("帮扶对象"), choices=group_choices, method="filter_support")

    class Meta:
        model = Alert
        fields = ["q", "rule", "status", "level", "school", "period", "support"]

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.filters["school"].queryset = School.objects.visible_to(user).only("id", "name")
        scope = scope_of(user)
        if scope is None or not scope.is_county:
            self.filters["rule"].extra["choices"] = [
                c for c in Alert.Rule.choices if c[0] not in Alert.COUNTY_ONLY_RULES]
        self.form.fields["period"].widget.attrs["placeholder"] = _("如 2026年秋季学期、2026年11月")
        _style(self)

    def filter_q(self, queryset, name, value):
        return _search(queryset, "subject", value)

    def filter_period(self, queryset, name, value):
        value = (value or "").strip()
        return queryset.filter(period=period_code(value)) if value else queryset

    def filter_support(self, queryset, name, value):
        return queryset.filter(in_group_or_listed(value, student="student__", id_number="subject"))


class CaseFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(label=_("姓名/证件后4位"), method="filter_q")
    status = django_filters.ChoiceFilter(label=_("状态"), method="filter_status", choices=[
        ("active", _("未销号")), *RetrievalCase.Status.choices])
    reason = django_filters.ChoiceFilter(label=_("辍学原因"), choices=RetrievalCase.Reason.choices)
    school = django_filters.ModelChoiceFilter(label=_("学校"), queryset=School.objects.none())
    support = django_filters.ChoiceFilter(label=_("帮扶对象"), choices=group_choices, method="filter_support")

    class Meta:
        model = RetrievalCase
        fields = ["q", "status", "reason", "school", "support"]

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.filters["school"].queryset = School.objects.visible_to(user).only("id", "name")
        _style(self)

    def filter_q(self, queryset, name, value):
        return _search(queryset, "id_number", value)

    def filter_support(self, queryset, name, value):
        return queryset.filter(in_group_or_listed(value, student="student__", id_number="id_number"))

    def filter_status(self, queryset, name, value):
        if value == "active":
            return queryset.filter(~Q(status=RetrievalCase.Status.CLOSED))
        return queryset.filter(status=value)
