"""The alert list's filter (django-filter, labelled in Chinese)."""

from __future__ import annotations

import django_filters
from django.utils.translation import gettext_lazy as _

from kongchuo.access.scoping import scope_of
from kongchuo.calendar.schoolyear import period_code
from retrieval.forms import search_name_or_id, style_filterset
from retrieval.models import Alert, Level
from students.models import School
from students.support import group_choices, in_group_or_listed


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
        style_filterset(self)

    def filter_q(self, queryset, name, value):
        return search_name_or_id(queryset, "subject", value)

    def filter_period(self, queryset, name, value):
        value = (value or "").strip()
        return queryset.filter(period=period_code(value)) if value else queryset

    def filter_support(self, queryset, name, value):
        return queryset.filter(in_group_or_listed(value, student="student__", id_number="subject"))
