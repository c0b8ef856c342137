"""The case list's filter (django-filter, labelled in Chinese)."""

from __future__ import annotations

import django_filters
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from retrieval.forms import search_name_or_id, style_filterset
from retrieval.models import RetrievalCase
from students.models import School
from students.support import group_choices, in_group_or_listed


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
        style_filterset(self)

    def filter_q(self, queryset, name, value):
        return search_name_or_id(queryset, "id_number", value)

    def filter_support(self, queryset, name, value):
        return queryset.filter(in_group_or_listed(value, student="student__", id_number="id_number"))

    def filter_status(self, queryset, name, value):
        if value == "active":
            return queryset.filter(~Q(status=RetrievalCase.Status.CLOSED))
        return queryset.filter(status=value)
